import assert from 'node:assert/strict'
import { QuloudError, type QuloudErrorClass } from '../../src/errors.ts'

/** Rejects with exactly this class (asserted by name), and nothing but a Quloud error leaks. */
export async function rejectsWith (work: Promise<unknown>, Class: QuloudErrorClass): Promise<void> {
  await assert.rejects(work, (err: unknown) => {
    assert.ok(err instanceof QuloudError, `a ${(err as Error)?.name} leaked: ${(err as Error)?.message}`)
    assert.equal(err.name, Class.name, err.message)
    return true
  })
}
