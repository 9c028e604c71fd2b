import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { StoredVersion } from '../src/domain/formats/catalogue-paths.ts'
import { versionsToForget } from '../src/domain/formats/forget-policy.ts'

const DAY = 86_400_000
const now = 100 * DAY
// versions 1..5 stored 50, 40, 30, 2 and 1 days ago; version 0 has no recorded time
const versions = [undefined, 50, 40, 30, 2, 1].map((ago, version) => ({
  version, top: {} as StoredVersion['top'], entries: [], ...(ago === undefined ? {} : { storedAt: now - ago * DAY })
})) as StoredVersion[]
const forgotten = (policy: Parameters<typeof versionsToForget>[1]): number[] => versionsToForget(versions, policy, now).map((v) => v.version)

describe('forget policies', () => {
  it('--keep-last N keeps the newest N', () => {
    assert.deepEqual(forgotten({ keepLast: 2 }), [0, 1, 2, 3])
    assert.deepEqual(forgotten({ keepLast: 10 }), [])
  })

  it('--keep-within D keeps what was stored within D, and always the newest; an unrecorded time is old', () => {
    assert.deepEqual(forgotten({ keepWithinMs: 35 * DAY }), [0, 1, 2])
    assert.deepEqual(forgotten({ keepWithinMs: 0 }), [0, 1, 2, 3, 4])
  })

  it('both: a version either rule keeps stays', () => {
    assert.deepEqual(forgotten({ keepLast: 1, keepWithinMs: 45 * DAY }), [0, 1])
  })

  it('no rule, or keeping nothing, is refused: forgetting a whole name is rm', () => {
    assert.throws(() => forgotten({}), { name: 'InvalidInputError' })
    assert.throws(() => forgotten({ keepLast: 0 }), { name: 'InvalidInputError' })
    assert.throws(() => forgotten({ keepWithinMs: -1 }), { name: 'InvalidInputError' })
  })
})
