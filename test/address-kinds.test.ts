import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { addressScope, isPublicAddress, reachabilityOf } from '../src/adapters/libp2p/address-kinds.ts'

const RELAYED = '/ip4/198.51.100.11/tcp/4101/p2p/12D3KooWGvXxAABpA1JtYmRFaFQGRKorgSXBnrSyRTjfAJznn3c8/p2p-circuit'

describe('address kinds', () => {
  it('names the scope of every range that must never count as public', () => {
    const cases: Array<[string, string]> = [
      ['/ip4/192.168.1.10/tcp/4101', 'private'],
      ['/ip4/10.1.2.3/tcp/4101', 'private'],
      ['/ip4/172.31.255.1/tcp/4101', 'private'],
      ['/ip4/172.32.0.1/tcp/4101', 'public'],
      ['/ip4/100.64.0.1/tcp/4101', 'cgnat'],
      ['/ip4/100.127.255.254/tcp/4101', 'cgnat'],
      ['/ip4/100.128.0.1/tcp/4101', 'public'],
      ['/ip4/11.0.0.21/tcp/4101', 'public'], // the NAT lab's "internet" (test/helpers/netns-home-lab.ts)
      ['/ip4/192.0.2.7/tcp/4101', 'documentation'],
      ['/ip4/198.51.100.21/tcp/4101', 'documentation'],
      ['/ip4/203.0.113.7/tcp/4101', 'documentation'],
      ['/ip4/198.18.0.1/tcp/4101', 'reserved'],
      ['/ip4/240.0.0.1/tcp/4101', 'reserved'],
      ['/ip4/0.0.0.0/tcp/4101', 'reserved'],
      ['/ip4/127.0.0.1/tcp/4101', 'loopback'],
      ['/ip4/169.254.3.4/tcp/4101', 'link-local'],
      ['/ip6/::1/tcp/4101', 'loopback'],
      ['/ip6/fd00::1/tcp/4101', 'private'],
      ['/ip6/fe80::1/tcp/4101', 'link-local'],
      ['/ip6/2001:db8::7/tcp/4101', 'documentation'],
      ['/ip6/2a01:4f8::1/tcp/4101', 'public'],
      ['/dns4/nas.example.org/tcp/4101', 'dns'],
      [RELAYED, 'relayed'],
      ['not a multiaddr', 'reserved']
    ]
    for (const [addr, scope] of cases) assert.equal(addressScope(addr), scope, addr)
    assert.deepEqual(cases.filter(([addr]) => isPublicAddress(addr)).map(([, s]) => s), ['public', 'public', 'public', 'public', 'dns'])
  })
})

describe('reachability', () => {
  it('a documentation-range public address with no peers is not reachable (the reported `Reachable: yes`)', () => {
    const r = reachabilityOf([
      { multiaddr: '/ip4/0.0.0.0/tcp/4101', type: 'transport', verified: true },
      { multiaddr: '/ip4/192.168.1.10/tcp/4101', type: 'transport', verified: true },
      { multiaddr: '/ip4/203.0.113.7/tcp/4101', type: 'announce', verified: true }
    ], [])
    assert.equal(r.state, 'none')
    assert.match(r.why, /203\.0\.113\.7.*documentation/)
    assert.match(r.why, /192\.168\.1\.10.*private/)
  })

  it('a configured public address is only `configured` until a peer confirms one', () => {
    const r = reachabilityOf([{ multiaddr: '/ip4/8.8.4.4/tcp/4101', type: 'announce', verified: true }], [])
    assert.deepEqual([r.state, r.addresses], ['configured', ['/ip4/8.8.4.4/tcp/4101']])
  })

  it('an observed public address counts once libp2p verified it, not before', () => {
    const seen = { multiaddr: '/ip4/8.8.4.4/tcp/50123', type: 'observed', verified: false }
    assert.equal(reachabilityOf([seen], []).state, 'unconfirmed')
    assert.equal(reachabilityOf([{ ...seen, verified: true }], []).state, 'public')
    assert.equal(reachabilityOf([{ ...seen, verified: true, multiaddr: '/ip4/100.70.1.2/tcp/50123' }], []).state, 'none')
  })

  it('a NATed node with a relay reservation is reachable through the relay only', () => {
    const r = reachabilityOf([
      { multiaddr: '/ip4/192.168.2.10/tcp/4101', type: 'transport', verified: true },
      { multiaddr: '/ip4/198.51.100.22/tcp/61234', type: 'observed', verified: false }
    ], [RELAYED])
    assert.deepEqual([r.state, r.addresses], ['relayed', [RELAYED]])
    assert.match(r.why, /198\.51\.100\.22.*documentation/)
  })

  it('behind NAT with a relay, the router\'s public address that nobody dialled back names the reason, not the state', () => {
    const r = reachabilityOf([
      { multiaddr: '/ip4/192.168.1.10/tcp/4101', type: 'transport', verified: true },
      { multiaddr: '/ip4/11.0.0.21/tcp/50123', type: 'observed', verified: false }
    ], [RELAYED])
    assert.deepEqual([r.state, r.addresses], ['relayed', [RELAYED]])
    assert.match(r.why, /11\.0\.0\.21\/tcp\/50123 is a public address no peer has dialled back/)
  })

  it('a configured forward is `configured` until AutoNAT dials its mapping back, then `public`', () => {
    const announce = { multiaddr: '/ip4/11.0.0.21/tcp/4102', type: 'announce', verified: true }
    const mapping = { multiaddr: '/ip4/11.0.0.21/tcp/4102', type: 'ip-mapping', verified: false }
    assert.equal(reachabilityOf([announce, mapping], []).state, 'configured')
    const confirmed = reachabilityOf([announce, { ...mapping, verified: true }], [RELAYED])
    assert.deepEqual([confirmed.state, confirmed.addresses], ['public', ['/ip4/11.0.0.21/tcp/4102']])
  })
})
