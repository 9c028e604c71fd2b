import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { chooseShardPlacement, ShardPlacementError, type PlacementCandidate } from '../src/domain/membership/placement.ts'
import { InvalidInputError } from '../src/errors.ts'
import { seededRandom } from './helpers/seeded-random.ts'

const MB = 1e6
const DAY = 24 * 3_600_000
const NOW = 1_800_000_000_000
/** An established peer with a public address in subnet `net` (203.0.net.host). */
const node = (id: string, net: number, host: number, extra: Partial<PlacementCandidate> = {}): PlacementCandidate => ({
  peerId: id, freeBytes: 100 * MB, reachable: true, firstSeen: NOW - 30 * DAY, probes: 100, successes: 100,
  addresses: [`/ip4/203.0.${net}.${host}/tcp/4101`], ...extra
})
const subnetOf = (candidates: PlacementCandidate[], id: string): string => candidates.find((c) => c.peerId === id)!.addresses![0]!.split('/')[2]!.split('.').slice(0, 3).join('.')

describe('shard placement: one shard per node, no subnet or site holding more than the parity', () => {
  it('never repeats a node, over many draws', () => {
    const candidates = Array.from({ length: 12 }, (_, i) => node(`n${i}`, i, 1))
    const random = seededRandom(5)
    for (let run = 0; run < 500; run++) {
      const { holders } = chooseShardPlacement(candidates, { shards: 10, parity: 4, neededBytes: MB, now: NOW, random })
      assert.equal(holders.length, 10)
      assert.equal(new Set(holders).size, 10)
    }
  })

  it('an attacker with 40 ids in one /24 gets at most m shards of a stripe: losing that subnet loses no file', () => {
    const honest = Array.from({ length: 8 }, (_, i) => node(`h${i}`, 10 + i, 1))
    const sybils = Array.from({ length: 40 }, (_, i) => node(`s${i}`, 99, i + 1, { freeBytes: 8e15 }))
    const candidates = [...sybils, ...honest]
    const random = seededRandom(9)
    for (let run = 0; run < 300; run++) {
      const { holders } = chooseShardPlacement(candidates, { shards: 6, parity: 2, neededBytes: MB, now: NOW, random })
      const inSybilNet = holders.filter((h) => subnetOf(candidates, h) === '203.0.99').length
      assert.ok(inSybilNet <= 2, `${inSybilNet} shards in one /24`)
    }
  })

  it('the cap is min(floor(n / 3), m): a wide stripe with little parity is capped by its parity', () => {
    // 24+6: a third of 30 would be 10 per subnet, more than the 6 a stripe can lose
    const candidates = [...Array.from({ length: 30 }, (_, i) => node(`a${i}`, 1, i + 1)), ...Array.from({ length: 30 }, (_, i) => node(`b${i}`, 2 + i, 1))]
    const random = seededRandom(3)
    for (let run = 0; run < 100; run++) {
      const { holders } = chooseShardPlacement(candidates, { shards: 30, parity: 6, neededBytes: MB, now: NOW, random })
      assert.ok(holders.filter((h) => h.startsWith('a')).length <= 6)
    }
  })

  it('a declared site counts as one failure domain, whatever subnets its boxes are in', () => {
    const flat = Array.from({ length: 6 }, (_, i) => node(`f${i}`, 50 + i, 1, { site: 'home-berlin' }))
    const others = Array.from({ length: 6 }, (_, i) => node(`o${i}`, 70 + i, 1))
    const random = seededRandom(4)
    for (let run = 0; run < 200; run++) {
      const { holders } = chooseShardPlacement([...flat, ...others], { shards: 6, parity: 2, neededBytes: MB, now: NOW, random })
      assert.ok(holders.filter((h) => h.startsWith('f')).length <= 2)
    }
  })

  it('too few eligible nodes, or too many in one subnet: ShardPlacementError, not a stripe with two shards on one node', () => {
    const few = Array.from({ length: 5 }, (_, i) => node(`n${i}`, i, 1))
    assert.throws(() => chooseShardPlacement(few, { shards: 6, parity: 2, neededBytes: MB, now: NOW }), ShardPlacementError)
    const oneNet = Array.from({ length: 20 }, (_, i) => node(`n${i}`, 7, i + 1))
    assert.throws(() => chooseShardPlacement(oneNet, { shards: 4, parity: 2, neededBytes: MB, now: NOW }), ShardPlacementError)
    const full = Array.from({ length: 8 }, (_, i) => node(`n${i}`, i, 1, { freeBytes: MB / 2 }))
    assert.throws(() => chooseShardPlacement(full, { shards: 6, parity: 2, neededBytes: MB, now: NOW }), ShardPlacementError)
  })

  it('refuses a parity outside 1..shards-1', () => {
    const candidates = Array.from({ length: 8 }, (_, i) => node(`n${i}`, i, 1))
    assert.throws(() => chooseShardPlacement(candidates, { shards: 6, parity: 0, neededBytes: MB }), InvalidInputError)
    assert.throws(() => chooseShardPlacement(candidates, { shards: 6, parity: 6, neededBytes: MB }), InvalidInputError)
  })
})
