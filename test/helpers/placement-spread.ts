import assert from 'node:assert/strict'
import { placementGroupShare } from '../../src/domain/membership/placement.ts'

/** One put's answer, as `put --json` prints it. */
export interface PutOutcome { id: string, holders: string[], underReplicated: boolean }

/**
 * Asserts what a put over three placement groups (sites or /24s) must give: `holders`
 * distinct nodes, no group over its share (placementGroupShare), and, since the test
 * federations leave placement no other choice, every one of the three groups at it.
 */
export function assertSpreadOverThree (outcome: PutOutcome, holders: number, parity: number | undefined, groupOf: ReadonlyMap<string, string>, kind: string): void {
  assert.equal(outcome.underReplicated, false)
  assert.equal(outcome.holders.length, holders)
  assert.equal(new Set(outcome.holders).size, holders, 'one node holds one piece of a file at most')
  const cap = placementGroupShare(holders, parity === undefined ? {} : { parity })
  const perGroup = new Map<string, number>()
  for (const peer of outcome.holders) {
    const group = groupOf.get(peer)
    assert.ok(group !== undefined, `holder ${peer} is one of the storage nodes`)
    perGroup.set(group, (perGroup.get(group) ?? 0) + 1)
  }
  for (const [group, n] of perGroup) assert.ok(n <= cap, `${kind} ${group} holds ${n} of ${holders}, its share is ${cap}`)
  assert.deepEqual([...perGroup.values()].sort(), [cap, cap, cap])
}
