import assert from 'node:assert/strict'
import { it } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import { placementAddresses } from '../../src/adapters/libp2p/membership.ts'
import { choosePlacement, type PlacementCandidate } from '../../src/domain/membership/placement.ts'
import { seededRandom } from '../helpers/seeded-random.ts'

const DAY = 24 * 60 * 60_000
const NOW = Date.UTC(2026, 11, 1)
const RELAY = '12D3KooWLRPJAA5o6J7tSWvkqdtTBfiGh1QWLfU3mXRQTkZ7BFmb'
const old = { reachable: true, freeBytes: 2e12, firstSeen: NOW - 30 * DAY, probes: 100, successes: 100 }

it('Sybils reachable only through one relay hold at most a third of a file', () => {
  const honest: PlacementCandidate[] = Array.from({ length: 10 }, (_, i) => ({ ...old, peerId: `h${i}`, addresses: [`/ip4/198.51.${i}.7/tcp/4001`] }))
  const sybils: PlacementCandidate[] = Array.from({ length: 20 }, (_, i) => {
    const host = { getConnections: () => [{ remoteAddr: multiaddr(`/ip4/203.0.113.${1 + (i % 4)}/tcp/4001/p2p/${RELAY}/p2p-circuit`) }] }
    return { ...old, peerId: `s${i}`, addresses: placementAddresses(host as any, { peerId: RELAY, addresses: ['/ip4/10.0.0.1/tcp/4001'] }) }
  })
  const random = seededRandom(7)
  let worst = 0
  for (let run = 0; run < 300; run++) {
    const { holders } = choosePlacement([...honest, ...sybils], { replicas: 3, neededBytes: 1e6, now: NOW, random })
    worst = Math.max(worst, holders.filter((h) => h.startsWith('s')).length)
  }
  assert.ok(worst <= 1, `the relay's Sybils held ${worst} of 3 copies of one file`)
})
