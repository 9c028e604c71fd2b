import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { choosePlacement, type PlacementCandidate } from '../src/domain/membership/placement.ts'

const at = (peerId: string, address: string, site?: string): PlacementCandidate => ({
  peerId, freeBytes: 1e9, reachable: true, firstSeen: 0, probes: 10, successes: 10, addresses: [address], ...(site === undefined ? {} : { site, trusted: true })
})

describe('placement for a repair: the holders that stay count against the caps', () => {
  // a 4+2 file keeps 4 holders; two in 198.51.100.0/24 already, the cap there is 2 of 6
  const staying = [at('s1', '/ip4/198.51.100.1/tcp/1'), at('s2', '/ip4/198.51.100.2/tcp/1'), at('s3', '/ip4/203.0.113.1/tcp/1'), at('s4', '/ip4/192.0.2.77/tcp/1')]
  const sameSubnet = [at('x1', '/ip4/198.51.100.9/tcp/1'), at('x2', '/ip4/198.51.100.10/tcp/1'), at('x3', '/ip4/198.51.100.11/tcp/1')]
  const elsewhere = [at('y1', '/ip4/61.7.7.1/tcp/1'), at('y2', '/ip4/45.1.2.3/tcp/1')]
  const seeded = (): (() => number) => { let i = 0; return () => ((i++ * 0.381966) % 1) }

  it('never adds a third holder in a subnet that has two of the file, and never re-chooses a holder', () => {
    for (let round = 0; round < 20; round++) {
      const { holders } = choosePlacement([...staying, ...sameSubnet, ...elsewhere], { replicas: 2, neededBytes: 1, placed: staying, maxPerSubnet: 2, random: seeded() })
      assert.equal(holders.some((h) => h.startsWith('x')), false, `chose ${holders.join(',')}`)
      assert.equal(holders.some((h) => h.startsWith('s')), false)
    }
  })

  it('comes up short rather than break the cap, and says so', () => {
    const placement = choosePlacement([...staying, ...sameSubnet], { replicas: 2, neededBytes: 1, placed: staying, maxPerSubnet: 2 })
    assert.deepEqual(placement.holders, [])
    assert.equal(placement.underReplicated, true)
  })

  // the site of a trusted peer (a stranger's claim is soft: site-placement.test.ts)
  it('counts a declared site like a subnet', () => {
    const home = [at('h1', '/ip4/45.9.9.1/tcp/1', 'home-berlin'), at('h2', '/ip4/77.9.9.1/tcp/1', 'home-berlin')]
    const flatmate = at('h3', '/ip4/88.9.9.1/tcp/1', 'home-berlin')
    const placement = choosePlacement([flatmate, ...elsewhere], { replicas: 3, neededBytes: 1, placed: [...home, staying[2]!, staying[3]!], maxPerSubnet: 2 })
    assert.equal(placement.holders.includes('h3'), false)
  })

  it('without holders placed, the caps are the request’s alone (what a put asks)', () => {
    const placement = choosePlacement([...sameSubnet, ...elsewhere], { replicas: 4, neededBytes: 1, maxPerSubnet: 2 })
    assert.equal(placement.holders.filter((h) => h.startsWith('x')).length, 1, 'floor(4 / 3) = 1 per subnet')
  })
})
