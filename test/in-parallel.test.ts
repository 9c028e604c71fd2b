import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { inParallel } from '../src/app/owner/in-parallel.ts'

const tick = async (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

describe('inParallel', () => {
  it('keeps the items order in its results and never runs more than the limit at once', async () => {
    let running = 0
    let most = 0
    const results = await inParallel([5, 1, 4, 2, 3, 0, 6], 3, async (n) => {
      most = Math.max(most, ++running)
      for (let i = 0; i < n; i++) await tick()
      running--
      return n * 10
    })
    assert.deepEqual(results, [50, 10, 40, 20, 30, 0, 60])
    assert.equal(most, 3)
  })

  it('starts nothing after a failure, lets the running items finish, and throws the first failure', async () => {
    const started: number[] = []
    let finished = 0
    await assert.rejects(inParallel([0, 1, 2, 3, 4, 5], 2, async (n) => {
      started.push(n)
      if (n === 1) throw new Error('first')
      for (let i = 0; i < 3; i++) await tick()
      finished++
      if (n === 0) throw new Error('second')
    }), { message: 'first' })
    assert.deepEqual(started, [0, 1])
    assert.equal(finished, 1, 'item 0 ran to its end (and failed too) before the first failure was thrown')
  })
})
