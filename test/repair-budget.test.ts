import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { RepairBudget } from '../src/app/owner/repair-budget.ts'

describe('the repair bandwidth budget', () => {
  // an aborted signal makes every take that would wait reject at once, so no test sleeps
  const aborted = AbortSignal.abort()
  const waits = async (budget: RepairBudget, bytes: number): Promise<boolean> => budget.take(bytes, aborted).then(() => false, () => true)

  it('lends one second of its rate to an idle budget, then makes each byte wait its turn', async () => {
    const clock = { now: 10_000 }
    const budget = new RepairBudget(1000, () => clock.now)
    assert.equal(await waits(budget, 600), false)
    assert.equal(await waits(budget, 400), false, 'a second\'s worth goes at once')
    assert.equal(await waits(budget, 1), true, 'past it, bytes wait')
    clock.now += 2000
    assert.equal(await waits(budget, 999), false, 'time gives the rate back')
  })

  it('keeps no credit beyond one second however long it was idle', async () => {
    const clock = { now: 0 }
    const budget = new RepairBudget(1000, () => clock.now)
    clock.now += 3_600_000
    assert.equal(await waits(budget, 1000), false)
    assert.equal(await waits(budget, 1), true)
  })

  it('counts the bytes it let through, not those given up while waiting', async () => {
    const clock = { now: 0 }
    const budget = new RepairBudget(1000, () => clock.now)
    assert.equal(budget.bytesTaken(), 0)
    assert.equal(await waits(budget, 700), false)
    assert.equal(await waits(budget, 700), true)
    assert.equal(budget.bytesTaken(), 700, 'the aborted take never went')
    clock.now += 5000
    await budget.take(300)
    assert.equal(budget.bytesTaken(), 1000)
  })

  it('refuses a rate that is not positive', () => {
    for (const rate of [0, -1, Number.NaN]) assert.throws(() => new RepairBudget(rate), RangeError)
  })
})
