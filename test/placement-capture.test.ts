import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import { placementAddresses } from '../src/adapters/libp2p/membership.ts'
import { choosePlacement, reputation, type PlacementCandidate } from '../src/domain/membership/placement.ts'
import { publicSubnetOf, publicSubnets } from '../src/domain/membership/subnet.ts'
import { seededRandom } from './helpers/seeded-random.ts'

const TB = 1e12
const DAY = 24 * 60 * 60_000
const NOW = Date.UTC(2026, 11, 1)

/** A peer this node has known for a month and that answered 99 of 100 probes. */
const established = (peerId: string, i: number, freeBytes = 2 * TB): PlacementCandidate => ({
  peerId, freeBytes, reachable: true, firstSeen: NOW - 30 * DAY, probes: 100, successes: 99, addresses: [`/ip4/198.51.${i}.7/tcp/4001`]
})
/** A peer that appeared minutes ago. */
const fresh = (peerId: string, address: string, freeBytes = 2 * TB): PlacementCandidate => ({
  peerId, freeBytes, reachable: true, firstSeen: NOW - 5 * 60_000, probes: 1, successes: 1, addresses: [address]
})
const honest = Array.from({ length: 10 }, (_, i) => established(`honest${i}`, i))

function countChosen (candidates: PlacementCandidate[], replicas: number, runs: number, seed: number, chosen: (id: string) => boolean): number[] {
  const random = seededRandom(seed)
  return Array.from({ length: runs }, () => choosePlacement(candidates, { replicas, neededBytes: 1e6, now: NOW, random }).holders.filter(chosen).length)
}

describe('placement capture', () => {
  it('a peer announcing 8 PB free gets no more than its fair share of 100 single-replica placements', () => {
    // as old and as reliable as the honest peers: only its claim differs
    const liar = { ...established('liar', 200), freeBytes: 8e15 }
    const got = countChosen([...honest, liar], 1, 100, 11, (id) => id === 'liar').reduce((a, b) => a + b, 0)
    // fair share 100/11 ≈ 9.1; before, it took every placement
    assert.ok(got <= 18, `the liar got ${got} of 100`)
    // new, it weighs less than the established peers
    const newLiar = { ...fresh('liar', '/ip4/203.0.113.9/tcp/4001'), freeBytes: 8e15 }
    const gotNew = countChosen([...honest, newLiar], 1, 100, 12, (id) => id === 'liar').reduce((a, b) => a + b, 0)
    assert.ok(gotNew <= 9, `the new liar got ${gotNew} of 100`)
  })

  it('5 fresh ids on one /24 never hold more than the subnet cap of a file’s copies', () => {
    const sybils = Array.from({ length: 5 }, (_, i) => ({ ...fresh(`sybil${i}`, `/ip4/203.0.113.${10 + i}/tcp/4001`), freeBytes: 8e15 }))
    const onSubnet = (id: string): boolean => id.startsWith('sybil')
    for (const [replicas, cap] of [[3, 1], [5, 1], [6, 2]] as const) {
      const counts = countChosen([...sybils, ...honest], replicas, 500, 20 + replicas, onSubnet)
      assert.ok(Math.max(...counts) <= cap, `replicas ${replicas}: at most ${cap} on the /24, got ${Math.max(...counts)}`)
      assert.ok(counts.some((c) => c > 0), 'the subnet is still chosen sometimes')
    }
    // an IPv6 /48 is one subnet too, whatever the interface ids and /64s
    const v6 = Array.from({ length: 5 }, (_, i) => fresh(`v6sybil${i}`, `/ip6/2001:db8:1:2::${i + 1}/tcp/4001`))
    const counts = countChosen([...v6, ...honest], 3, 300, 30, (id) => id.startsWith('v6sybil'))
    assert.ok(Math.max(...counts) <= 1)
  })

  it('leaves a file under-replicated rather than put two of three copies in one subnet', () => {
    const oneSubnet = Array.from({ length: 5 }, (_, i) => established(`p${i}`, 0))
    const result = choosePlacement(oneSubnet, { replicas: 3, neededBytes: 1, now: NOW, random: seededRandom(40) })
    assert.equal(result.holders.length, 1)
    assert.equal(result.underReplicated, true)
  })

  it('gives the new cohort at most its share while established peers are eligible, and everything in a young federation', () => {
    // fresh ids each in their own subnet: only the cohort cap stands in their way
    const flood = Array.from({ length: 50 }, (_, i) => fresh(`new${i}`, `/ip4/203.0.${i}.1/tcp/4001`))
    const counts = countChosen([...flood, ...honest], 3, 300, 41, (id) => id.startsWith('new'))
    assert.ok(Math.max(...counts) <= 1, `at most one of three copies to the new cohort, got ${Math.max(...counts)}`)
    const young = choosePlacement(flood.slice(0, 5), { replicas: 3, neededBytes: 1, now: NOW, random: seededRandom(42) })
    assert.equal(young.holders.length, 3)
    // peers without any observation count as newcomers
    const unknown = choosePlacement([{ peerId: 'x', freeBytes: TB, reachable: true }, ...honest.slice(0, 3)], { replicas: 3, neededBytes: 1, now: NOW, random: seededRandom(43) })
    assert.ok(unknown.holders.filter((id) => id === 'x').length <= 1)
  })

  it('reputation grows with observed uptime and age, never with claims', () => {
    const mature = 7 * DAY
    const old = reputation({ firstSeen: NOW - 30 * DAY, probes: 100, successes: 100 }, NOW, mature)
    const flaky = reputation({ firstSeen: NOW - 30 * DAY, probes: 100, successes: 10 }, NOW, mature)
    const young = reputation({ firstSeen: NOW - 60_000, probes: 100, successes: 100 }, NOW, mature)
    const unseen = reputation({}, NOW, mature)
    assert.ok(old > young && old > flaky && young > unseen, `${old} ${flaky} ${young} ${unseen}`)
    assert.ok(old <= 1 && unseen > 0)
    // successes beyond the probes, negative or NaN counts and a future first-seen buy nothing
    assert.equal(reputation({ firstSeen: NOW + DAY, probes: 1, successes: 1000 }, NOW, mature), reputation({ firstSeen: NOW, probes: 1, successes: 1 }, NOW, mature))
    assert.equal(reputation({ probes: Number.NaN, successes: -3 }, NOW, mature), unseen)
    // chosen accordingly: a peer that answered 10 % of probes is chosen far less than one that answered all
    const a = { ...established('reliable', 1), successes: 100 }
    const b = { ...established('flaky', 2), successes: 10 }
    const flakyCount = countChosen([a, b], 1, 2000, 44, (id) => id === 'flaky').reduce((x, y) => x + y, 0)
    assert.ok(flakyCount < 400, `${flakyCount}`)
  })

  it('reads public subnets from addresses and puts private, relayed and malformed ones in none', () => {
    assert.equal(publicSubnetOf('/ip4/203.0.113.7/tcp/4001'), 'ip4:203.0.113')
    assert.equal(publicSubnetOf('/ip6/2001:db8:0:1:aa::1/udp/4001/quic-v1'), 'ip6:2001:db8:0')
    assert.equal(publicSubnetOf('/ip6/::ffff:203.0.113.9/tcp/1'), 'ip4:203.0.113')
    for (const addr of ['/ip4/127.0.0.1/tcp/1', '/ip4/192.168.1.5/tcp/1', '/ip4/10.1.2.3/tcp/1', '/ip4/100.64.0.1/tcp/1',
      '/ip6/::1/tcp/1', '/ip6/fd00::1/tcp/1', '/ip6/fe80::1/tcp/1', '/dns4/example.com/tcp/1',
      '/ip4/203.0.113.1/tcp/1/p2p/12D3KooWLRPJAA5o6J7tSWvkqdtTBfiGh1QWLfU3mXRQTkZ7BFmb/p2p-circuit', 'not an address']) {
      assert.equal(publicSubnetOf(addr), undefined, addr)
    }
    assert.deepEqual(publicSubnets(['/ip4/203.0.113.7/tcp/1', '/ip4/203.0.113.8/udp/1/quic-v1', '/ip4/198.51.100.1/tcp/1']), ['ip4:203.0.113', 'ip4:198.51.100'])
  })

  it('groups a peer by the address its connection came from, not by what it claims', () => {
    const peerId = '12D3KooWLRPJAA5o6J7tSWvkqdtTBfiGh1QWLfU3mXRQTkZ7BFmb'
    // it claims an address in each honest subnet, to block them all when it is drawn
    const claimed = honest.map((_, i) => `/ip4/198.51.${i}.99/tcp/4001`)
    const connected = { getConnections: () => [{ remoteAddr: multiaddr('/ip4/203.0.113.50/tcp/51234') }, { remoteAddr: multiaddr('/ip4/203.0.113.50/tcp/51234') }] }
    assert.deepEqual(placementAddresses(connected as any, { peerId, addresses: claimed }), ['/ip4/203.0.113.50/tcp/51234'])
    const relayedOnly = { getConnections: () => [{ remoteAddr: multiaddr(`/ip4/198.51.1.1/tcp/1/p2p/${peerId}/p2p-circuit`) }] }
    assert.deepEqual(placementAddresses(relayedOnly as any, { peerId, addresses: claimed }), [`/ip4/198.51.1.1/tcp/1/p2p/${peerId}/p2p-circuit`], 'relayed only: the relay it came through, not its claims')
    assert.deepEqual(placementAddresses({ getConnections: () => [] } as any, { peerId, addresses: claimed, subnet: 'ip4:198.51.3' }), [claimed[3]], 'not connected: its first claim in the subnet it answered from')
    assert.deepEqual(placementAddresses({ getConnections: () => [] } as any, { peerId, addresses: claimed }), [], 'not connected, never seen answering from a public subnet: no claim counts')
    // with its claims cut to one subnet, drawing it blocks at most that one
    const liar = { ...established('liar', 0), addresses: placementAddresses({ getConnections: () => [] } as any, { peerId, addresses: claimed }) }
    const random = seededRandom(50)
    for (let i = 0; i < 200; i++) {
      const { holders, underReplicated } = choosePlacement([liar, ...honest], { replicas: 3, neededBytes: 1, now: NOW, random })
      assert.equal(underReplicated, false)
      assert.equal(holders.length, 3)
    }
  })
})
