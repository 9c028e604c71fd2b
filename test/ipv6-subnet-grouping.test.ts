import assert from 'node:assert/strict'
import { it } from 'node:test'
import { choosePlacement, type PlacementCandidate } from '../src/domain/membership/placement.ts'
import { admissionOf } from '../src/domain/membership/peer-book-policy.ts'
import { publicSubnetOf } from '../src/domain/membership/subnet.ts'
import { newEntry, type PeerEntry } from '../src/domain/membership/peer-entry.ts'
import { seededRandom } from './helpers/seeded-random.ts'

const DAY = 24 * 60 * 60_000
const NOW = Date.UTC(2026, 11, 1)
const old = { reachable: true, freeBytes: 2e12, firstSeen: NOW - 30 * DAY, probes: 100, successes: 100 }

it('one home /56 (256 /64s) holds at most a third of a file', () => {
  const honest: PlacementCandidate[] = Array.from({ length: 10 }, (_, i) => ({ ...old, peerId: `h${i}`, addresses: [`/ip4/198.51.${i}.7/tcp/4001`] }))
  const sybils: PlacementCandidate[] = Array.from({ length: 20 }, (_, i) => ({ ...old, peerId: `s${i}`, addresses: [`/ip6/2001:db8:0:${i.toString(16)}::1/tcp/4001`] }))
  const random = seededRandom(7)
  let worst = 0
  for (let run = 0; run < 300; run++) {
    const { holders } = choosePlacement([...honest, ...sybils], { replicas: 3, neededBytes: 1e6, now: NOW, random })
    worst = Math.max(worst, holders.filter((h) => h.startsWith('s')).length)
  }
  assert.ok(worst <= 1, `one /56 held ${worst} of 3 copies of one file`)
})

it('one home /56 takes at most peerBookPerSubnet entries of the book', () => {
  const entries: PeerEntry[] = []
  for (let i = 0; i < 64; i++) {
    const subnet = publicSubnetOf(`/ip6/2001:db8:0:${i.toString(16)}::1/tcp/4001`)
    const { admitted } = admissionOf(entries, subnet, { maxPeers: 64, staleAfterMs: DAY, maxPerSubnet: 4 })
    if (admitted) entries.push({ ...newEntry(`s${i}`, NOW), ...(subnet === undefined ? {} : { subnet }), liveness: { ...newEntry(`s${i}`, NOW).liveness, reachable: true } })
  }
  assert.ok(entries.length <= 4, `one /56 took ${entries.length} of 64 entries`)
})
