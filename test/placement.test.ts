import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { choosePlacement, type PlacementCandidate } from '../src/domain/membership/placement.ts'
import { seededRandom } from './helpers/seeded-random.ts'

const GB = 1e9
const MB = 1e6
const peer = (peerId: string, freeBytes: number, reachable = true): PlacementCandidate => ({ peerId, freeBytes, reachable })

/** How often each peer is chosen over `runs` placements. */
function frequencies (candidates: PlacementCandidate[], replicas: number, runs: number, seed: number): Map<string, number> {
  const random = seededRandom(seed)
  const counts = new Map<string, number>()
  for (let i = 0; i < runs; i++) {
    for (const holder of choosePlacement(candidates, { replicas, neededBytes: 1, random }).holders) counts.set(holder, (counts.get(holder) ?? 0) + 1)
  }
  return counts
}

describe('placement', () => {
  it('draws one holder with probability proportional to free capacity below the weight ceiling', () => {
    const candidates = [peer('a', 100 * MB), peer('b', 200 * MB), peer('c', 300 * MB), peer('d', 400 * MB)]
    const runs = 200_000
    const counts = frequencies(candidates, 1, runs, 1)
    // expected 10%, 20%, 30%, 40%; one standard deviation is at most 0.11 percentage points
    let chiSquare = 0
    for (const [i, c] of candidates.entries()) {
      const expected = runs * (i + 1) / 10
      const observed = counts.get(c.peerId) ?? 0
      assert.ok(Math.abs(observed - expected) / runs < 0.005, `${c.peerId}: ${observed} of ${runs}`)
      chiSquare += (observed - expected) ** 2 / expected
    }
    // 3 degrees of freedom: P(chi^2 > 16.27) = 0.001
    assert.ok(chiSquare < 16.27, `chi-square ${chiSquare}`)
  })

  it('draws distinct holders without replacement, with the exact inclusion probabilities', () => {
    const w = [1, 2, 3, 4]
    const candidates = w.map((x, i) => peer(String.fromCharCode(97 + i), x * GB))
    const runs = 100_000
    const random = seededRandom(2)
    const counts = new Map<string, number>()
    for (let i = 0; i < runs; i++) {
      const { holders, underReplicated } = choosePlacement(candidates, { replicas: 2, neededBytes: GB, random })
      assert.equal(holders.length, 2)
      assert.notEqual(holders[0], holders[1])
      assert.equal(underReplicated, false)
      for (const h of holders) counts.set(h, (counts.get(h) ?? 0) + 1)
    }
    // P(i among two) = w_i/W + sum over j != i of (w_j/W) * w_i/(W - w_j)
    const W = w.reduce((s, x) => s + x, 0)
    w.forEach((wi, i) => {
      const p = wi / W + w.reduce((s, wj, j) => j === i ? s : s + (wj / W) * wi / (W - wj), 0)
      const observed = (counts.get(String.fromCharCode(97 + i)) ?? 0) / runs
      assert.ok(Math.abs(observed - p) < 0.006, `peer ${i}: ${observed} vs ${p}`)
    })
  })

  it('skips unreachable peers, peers short of space, excluded and repeated ones, and nonsense figures', () => {
    const candidates = [
      peer('down', 100 * GB, false), peer('small', GB - 1), peer('self', 100 * GB), peer('ok1', GB), peer('ok2', 5 * GB),
      peer('ok1', 1000 * GB), peer('nan', Number.NaN), peer('negative', -5), peer('zero', 0), peer('inf', Number.POSITIVE_INFINITY)
    ]
    const random = seededRandom(3)
    for (let i = 0; i < 200; i++) {
      const { holders, underReplicated } = choosePlacement(candidates, { replicas: 3, neededBytes: GB, exclude: ['self'], random })
      assert.deepEqual([...holders].sort(), ['ok1', 'ok2'])
      assert.equal(underReplicated, true)
    }
  })

  it('reports under-replication when there are fewer candidates than replicas', () => {
    const result = choosePlacement([peer('a', GB), peer('b', GB, false)], { replicas: 3, neededBytes: 1, random: seededRandom(4) })
    assert.deepEqual(result, { holders: ['a'], underReplicated: true, underDiversified: false })
    assert.deepEqual(choosePlacement([], { replicas: 2, neededBytes: 1 }), { holders: [], underReplicated: true, underDiversified: false })
    assert.deepEqual(choosePlacement([peer('a', GB)], { replicas: 0, neededBytes: 1 }), { holders: [], underReplicated: false, underDiversified: false })
  })

  it('caps the weight of a peer announcing an absurd capacity', () => {
    const GiB = 2 ** 30
    const candidates = [peer('liar', 1e18), peer('b', GiB), peer('c', GiB)]
    const liar = frequencies(candidates, 1, 30_000, 5).get('liar') ?? 0
    assert.ok(Math.abs(liar / 30_000 - 1 / 3) < 0.02, `${liar}`)
    // a lower ceiling set by the policy holds too
    const random = seededRandom(6)
    let small = 0
    for (let i = 0; i < 30_000; i++) {
      if (choosePlacement([peer('liar', 1e18), peer('small', 100 * MB)], { replicas: 1, neededBytes: 1, policy: { maxWeightBytes: 100 * MB }, random }).holders[0] === 'small') small++
    }
    assert.ok(Math.abs(small / 30_000 - 1 / 2) < 0.02, `${small}`)
  })

  it('is deterministic for one random stream, and uses node:crypto by default', () => {
    const candidates = Array.from({ length: 50 }, (_, i) => peer(`p${i}`, (i + 1) * GB))
    const a = choosePlacement(candidates, { replicas: 5, neededBytes: 1, random: seededRandom(7) })
    const b = choosePlacement(candidates, { replicas: 5, neededBytes: 1, random: seededRandom(7) })
    assert.deepEqual(a, b)
    assert.equal(new Set(choosePlacement(candidates, { replicas: 5, neededBytes: 1 }).holders).size, 5)
  })

  it('refuses a bad request', () => {
    for (const request of [{ replicas: -1, neededBytes: 1 }, { replicas: 1.5, neededBytes: 1 }, { replicas: 1, neededBytes: -1 },
      { replicas: 1, neededBytes: 1, policy: { maxWeightBytes: 0 } }, { replicas: 1, neededBytes: 1, policy: { maxSubnetShare: 0 } },
      { replicas: 1, neededBytes: 1, policy: { maxNewCohortShare: 1.5 } }, { replicas: 1, neededBytes: 1, random: () => 1 }]) {
      assert.throws(() => choosePlacement([peer('a', GB)], request), { name: 'InvalidInputError' })
    }
  })
})
