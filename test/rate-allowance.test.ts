import assert from 'node:assert/strict'
import { test } from 'node:test'
import { RateAllowance } from '../src/util/rate-allowance.ts'
import { PeerLimits } from '../src/adapters/libp2p/protocols/peer-limits.ts'
import { BusyError } from '../src/domain/protocol/federation-errors.ts'

test('a rate allowance gives its burst at once, then its rate, and never more than the burst after a quiet spell', () => {
  let now = 0
  const allowance = RateAllowance.perSecond(2, 3, () => now)
  assert.deepEqual([1, 2, 3, 4].map(() => allowance.take()), [true, true, true, false])
  now += 500
  assert.equal(allowance.take(), true, 'half a second at 2/s is one')
  assert.equal(allowance.take(), false)
  now += 60_000
  assert.equal(allowance.available(), 3, 'a minute idle refills to the burst, not beyond')
  assert.equal(allowance.full, true)
  assert.equal(allowance.take(2), true)
  assert.equal(allowance.take(2), false, 'a cost is taken whole or not at all')
})

test('a charge after the fact goes into debt, which the rate pays off before anything passes', () => {
  let now = 0
  const failures = RateAllowance.perSecond(1, 2, () => now)
  for (let i = 0; i < 5; i++) failures.spend()
  assert.equal(failures.available(), -3)
  now += 3_900
  assert.equal(failures.take(), false, 'still paying off')
  now += 200
  assert.equal(failures.take(), true)
})

test('the per-minute form: a minute\'s worth at once', () => {
  let now = 0
  const dials = new RateAllowance(120, () => now)
  let taken = 0
  while (dials.take()) taken++
  assert.equal(taken, 120)
  now += 1000
  assert.equal(dials.take(), true, 'two a second')
  assert.equal(dials.take(), true)
  assert.equal(dials.take(), false)
})

test('request limits: one peer over its rate is BUSY, another peer is not; ten thousand idle peers are forgotten, not kept', () => {
  let now = 0
  const limits = new PeerLimits({ maxStreamsPerPeer: 4, requestsPerSecond: 10, burst: 5, now: () => now })
  for (let i = 0; i < 5; i++) limits.charge('greedy')
  assert.throws(() => limits.charge('greedy'), BusyError)
  limits.charge('other')
  for (let id = 0; id < 20_000; id++) limits.charge(`fresh${id}`)
  now += 1000
  // the flood's buckets are full again: the next newcomer sweeps them, and the greedy peer's full one
  limits.charge('late')
  assert.ok((limits as unknown as { buckets: Map<string, unknown> }).buckets.size < 10_100)
})
