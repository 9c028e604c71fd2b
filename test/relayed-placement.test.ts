import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import { placementAddresses } from '../src/adapters/libp2p/membership.ts'
import { choosePlacement, chooseShardPlacement, type PlacementCandidate } from '../src/domain/membership/placement.ts'
import { NO_PUBLIC_SUBNET, placementGroupsOf } from '../src/domain/membership/placement-groups.ts'
import { seededRandom } from './helpers/seeded-random.ts'

const DAY = 24 * 60 * 60_000
const NOW = Date.UTC(2026, 11, 1)
const RELAY = '12D3KooWLRPJAA5o6J7tSWvkqdtTBfiGh1QWLfU3mXRQTkZ7BFmb'
const old = { reachable: true, freeBytes: 2e12, firstSeen: NOW - 30 * DAY, probes: 100, successes: 100 }

const honest: PlacementCandidate[] = Array.from({ length: 10 }, (_, i) => ({ ...old, peerId: `h${i}`, addresses: [`/ip4/198.51.${i}.7/tcp/4001`] }))

/** A peer connected only through the relay at `relayIp`, claiming `claims`. */
function relayedOnly (peerId: string, relayIp: string, claims: string[]): PlacementCandidate {
  const host = { getConnections: () => [{ remoteAddr: multiaddr(`/ip4/${relayIp}/tcp/4001/p2p/${RELAY}/p2p-circuit`) }] }
  return { ...old, peerId, addresses: placementAddresses(host as any, { peerId: RELAY, addresses: claims }) }
}

/** A peer this node is not connected to, seen answering from `subnet` (the book's PeerEntry.subnet) if any. */
function unconnected (peerId: string, claims: string[], subnet?: string): PlacementCandidate {
  return { ...old, peerId, addresses: placementAddresses({ getConnections: () => [] } as any, { peerId: RELAY, addresses: claims, ...(subnet === undefined ? {} : { subnet }) }) }
}

/** The most copies of one file (of `replicas`) the Sybils held over `runs` placements. */
function worstShare (candidates: PlacementCandidate[], replicas: number, runs = 300): number {
  const random = seededRandom(7)
  let worst = 0
  for (let run = 0; run < runs; run++) {
    const { holders, underReplicated, underDiversified } = choosePlacement(candidates, { replicas, neededBytes: 1e6, now: NOW, random })
    assert.equal(underReplicated, false)
    assert.equal(underDiversified, false, 'ten honest subnets are enough groups')
    worst = Math.max(worst, holders.filter((h) => h.startsWith('s')).length)
  }
  return worst
}

describe('relayed Sybils and claimed private addresses', () => {
  it('Sybils reachable only through one relay hold at most a third of a file', () => {
    const sybils = Array.from({ length: 20 }, (_, i) => relayedOnly(`s${i}`, `203.0.113.${1 + (i % 4)}`, ['/ip4/10.0.0.1/tcp/4001']))
    assert.ok(worstShare([...honest, ...sybils], 3) <= 1, 'the relay\'s Sybils held more than one of 3 copies')
  })

  it('Sybils claiming private, loopback or reserved addresses share one group, connected or not', () => {
    const claims = ['/ip4/10.0.0.1/tcp/4001', '/ip4/127.0.0.1/tcp/4001', '/ip4/192.168.1.9/tcp/4001', '/ip4/100.64.0.9/tcp/4001',
      '/ip4/240.1.2.3/tcp/4001', '/ip4/224.1.2.3/tcp/4001', '/ip4/198.18.5.5/tcp/4001', '/ip6/fd00::1/tcp/4001', '/ip6/ff02::1/tcp/4001', 'not an address']
    for (const claim of claims) assert.deepEqual(placementGroupsOf([claim]), { strict: [], soft: [NO_PUBLIC_SUBNET] }, claim)
    // reserved /24s (240/4 alone holds a million) would each have been a subnet of its own
    const sybils = Array.from({ length: 40 }, (_, i) => unconnected(`s${i}`, [i % 2 === 0 ? `/ip4/240.${i}.${i}.1/tcp/4001` : `/ip4/10.${i}.0.1/tcp/4001`, '/ip4/198.51.99.1/tcp/1']))
    assert.ok(worstShare([...honest, ...sybils], 3) <= 1)
  })

  it('Sybils that hang up after every probe are not placed under the public addresses they claim', () => {
    // never seen answering from a public subnet (they answered through a relay): no claim counts
    const relayedThenGone = Array.from({ length: 20 }, (_, i) => unconnected(`s${i}`, [`/ip4/198.51.${100 + i}.1/tcp/4001`]))
    assert.ok(worstShare([...honest, ...relayedThenGone], 3) <= 1)
    // seen answering from the attacker's one /24: only a claim there counts
    const directThenGone = Array.from({ length: 20 }, (_, i) => unconnected(`s${i}`, [`/ip4/198.51.${100 + i}.1/tcp/4001`, `/ip4/203.0.113.${i + 1}/tcp/4001`], 'ip4:203.0.113'))
    assert.deepEqual(directThenGone[5]!.addresses, ['/ip4/203.0.113.6/tcp/4001'])
    assert.ok(worstShare([...honest, ...directThenGone], 3) <= 1)
  })

  it('a relay in a subnet and direct peers of that subnet are one group', () => {
    const direct = Array.from({ length: 10 }, (_, i) => ({ ...old, peerId: `s-direct${i}`, addresses: [`/ip4/203.0.113.${20 + i}/tcp/4001`] }))
    const relayed = Array.from({ length: 10 }, (_, i) => relayedOnly(`s-relayed${i}`, '203.0.113.5', []))
    assert.deepEqual(placementGroupsOf(relayed[0]!.addresses!), { strict: [], soft: ['ip4:203.0.113'] })
    assert.ok(worstShare([...honest, ...direct, ...relayed], 3) <= 1, 'one /24 gave its direct and its relayed ids a copy each')
  })

  it('a relayed peer\'s claims of public addresses give it no subnet: the relay it came through does', () => {
    const sybils = Array.from({ length: 20 }, (_, i) => relayedOnly(`s${i}`, '203.0.113.5', [`/ip4/192.0.2.${i}/tcp/4001`, `/ip4/198.51.${100 + i}.1/tcp/1`]))
    assert.ok(worstShare([...honest, ...sybils], 3) <= 1)
  })

  it('erasure: the relay\'s Sybils hold no more shards of a stripe than one subnet may', () => {
    const many = Array.from({ length: 20 }, (_, i) => ({ ...old, peerId: `h${i}`, addresses: [`/ip4/198.51.${i}.7/tcp/4001`] }))
    const sybils = Array.from({ length: 30 }, (_, i) => relayedOnly(`s${i}`, '203.0.113.9', ['/ip4/10.0.0.1/tcp/4001']))
    const random = seededRandom(3)
    for (let run = 0; run < 200; run++) {
      const { holders, underDiversified } = chooseShardPlacement([...many, ...sybils], { shards: 6, parity: 2, neededBytes: 1e6, now: NOW, random })
      assert.ok(holders.filter((h) => h.startsWith('s')).length <= 2, `a stripe had ${holders.filter((h) => h.startsWith('s')).length} Sybil shards of 6 (parity 2)`)
      assert.equal(underDiversified, false)
    }
  })
})

describe('the relay cap is soft', () => {
  it('a federation behind one relay (the NAT lab) still stores every copy and says it is under-diversified', () => {
    const homes = Array.from({ length: 4 }, (_, i) => relayedOnly(`home${i}`, '198.51.100.2', [`/ip4/10.${i}.0.2/tcp/4001`]))
    const random = seededRandom(11)
    for (let run = 0; run < 50; run++) {
      const placement = choosePlacement(homes, { replicas: 3, neededBytes: 1e6, now: NOW, random })
      assert.equal(placement.holders.length, 3)
      assert.equal(placement.underReplicated, false)
      assert.equal(placement.underDiversified, true)
    }
    const stripe = chooseShardPlacement(homes, { shards: 4, parity: 2, neededBytes: 1e6, now: NOW, random })
    assert.equal(stripe.holders.length, 4)
    assert.equal(stripe.underDiversified, true)
  })

  it('relayed peers filling their relay\'s /24 do not shut out a direct peer of that /24 (the lab\'s bootstrap node)', () => {
    const homes = Array.from({ length: 3 }, (_, i) => relayedOnly(`home${i}`, '198.51.100.2', []))
    const bootstrap = { ...old, peerId: 'bootstrap', addresses: ['/ip4/198.51.100.1/tcp/4001'] }
    const random = seededRandom(13)
    for (let run = 0; run < 50; run++) {
      const placement = choosePlacement([...homes, bootstrap], { replicas: 4, neededBytes: 1e6, now: NOW, random })
      assert.deepEqual([placement.holders.length, placement.underReplicated, placement.underDiversified], [4, false, true])
    }
  })

  it('a LAN (every peer on private addresses) fills too, and a public peer is drawn first', () => {
    const lan = Array.from({ length: 3 }, (_, i) => ({ ...old, peerId: `lan${i}`, addresses: [`/ip4/192.168.1.${10 + i}/tcp/4001`] }))
    const onePublic = { ...old, peerId: 'public', addresses: ['/ip4/198.51.7.7/tcp/4001'] }
    const random = seededRandom(5)
    for (let run = 0; run < 50; run++) {
      const placement = choosePlacement([...lan, onePublic], { replicas: 3, neededBytes: 1e6, now: NOW, random })
      assert.equal(placement.underReplicated, false)
      assert.ok(placement.holders.includes('public'), 'a group of its own is filled before the shared one')
      assert.equal(placement.underDiversified, true)
      const two = choosePlacement([...lan, onePublic], { replicas: 2, neededBytes: 1e6, now: NOW, random })
      assert.equal(two.underDiversified, false, 'two groups, two copies: diverse')
      assert.ok(two.holders.includes('public'))
    }
  })

  it('strict subnets stay strict: one public /24 alone leaves a file under-replicated', () => {
    const oneNet = Array.from({ length: 5 }, (_, i) => ({ ...old, peerId: `n${i}`, addresses: [`/ip4/198.51.7.${i + 1}/tcp/4001`] }))
    const placement = choosePlacement(oneNet, { replicas: 3, neededBytes: 1e6, now: NOW, random: seededRandom(1) })
    assert.deepEqual([placement.holders.length, placement.underReplicated, placement.underDiversified], [1, true, false])
  })
})
