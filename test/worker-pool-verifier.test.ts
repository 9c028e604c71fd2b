import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { FairQueue } from '../src/adapters/proof/fair-queue.ts'
import { WorkerPoolVerifier } from '../src/adapters/proof/worker-pool-verifier.ts'
import { makeProofFixtures, type ProofFixtures } from './helpers/proof-fixtures.ts'

/**
 * Proof verification off the event loop, served in turn. The attack of the hostile-
 * federation issue: one peer sends curve-valid bogus proofs as fast as it can; an
 * honest peer's proof must not wait behind them, and the flood must be refused once
 * its own lane is full.
 */
describe('WorkerPoolVerifier under a flood of bogus proofs', () => {
  let fixtures: ProofFixtures
  let verifier: WorkerPoolVerifier

  before(async () => {
    fixtures = await makeProofFixtures()
    verifier = await WorkerPoolVerifier.create({ verificationKey: fixtures.artefacts.verificationKey, workers: 1, limits: { perRequester: 8, perSubnet: 8, total: 64 } })
  })
  after(async () => { await verifier.close() })

  it('an honest proof overtakes a flooder\'s queue, and the flood beyond its lane is refused BUSY', async () => {
    const { proof, commitment, context } = fixtures
    const bogus = { proof, commitment, context: context + 1n }
    const order: string[] = []
    // one goes straight to the worker, eight wait: the lane is full
    const flood = Array.from({ length: 9 }, async (_, i) => verifier.verify(bogus, { requester: { peer: 'flooder', subnet: '10.0.0' } })
      .then((ok) => { order.push(`flood${i}`); return ok }))
    await assert.rejects(verifier.verify(bogus, { requester: { peer: 'flooder', subnet: '10.0.0' } }), { name: 'BusyError' })
    await assert.rejects(verifier.verify(bogus, { requester: { peer: 'sybil', subnet: '10.0.0' } }), { name: 'BusyError' }, 'another id on the same subnet shares the lane')
    const honest = verifier.verify({ proof, commitment, context }, { requester: { peer: 'honest', subnet: '192.168.1' } })
      .then((ok) => { order.push('honest'); return ok })
    assert.equal(await honest, true)
    assert.deepEqual(await Promise.all(flood), Array(9).fill(false))
    assert.ok(order.indexOf('honest') <= 2, `the honest proof waited behind ${order.indexOf('honest')} bogus ones: ${order.join(' ')}`)
  })

  it('the event loop stays free while proofs verify', async () => {
    const { proof, commitment, context } = fixtures
    const order: string[] = []
    const work = Promise.all(Array.from({ length: 4 }, async () => verifier.verify({ proof, commitment, context: context + 1n }, { requester: { peer: 'x' } })
      .then(() => { order.push('verdict') })))
    // a timer set now fires while the worker pairs, before any verdict: a verifier on the
    // event loop would run all four pairings before the timer's turn (an order, not a time,
    // so a loaded machine cannot make it flake)
    setTimeout(() => order.push('timer'), 0)
    await work
    assert.equal(order[0], 'timer', order.join(' '))
  })

  it('a verification whose caller gave up leaves the queue', async () => {
    const { proof, commitment, context } = fixtures
    const controller = new AbortController()
    const busy = Array.from({ length: 3 }, async () => verifier.verify({ proof, commitment, context }, { requester: { peer: 'a' } }))
    const abandoned = verifier.verify({ proof, commitment, context }, { requester: { peer: 'b' }, signal: controller.signal })
    controller.abort()
    await assert.rejects(abandoned, { name: 'AbortError' })
    assert.deepEqual(await Promise.all(busy), [true, true, true])
    assert.equal(verifier.waiting, 0)
  })
})

describe('FairQueue', () => {
  it('serves subnets in turn, then requesters within a subnet', () => {
    const queue = new FairQueue<string>({ perRequester: 10, perSubnet: 10, total: 100 })
    for (const job of ['a1', 'a2', 'a3']) queue.push({ peer: 'a', subnet: 'net1' }, job)
    queue.push({ peer: 'b', subnet: 'net1' }, 'b1')
    queue.push({ peer: 'c', subnet: 'net2' }, 'c1')
    const order: string[] = []
    for (let job = queue.shift(); job !== undefined; job = queue.shift()) order.push(job)
    assert.deepEqual(order, ['a1', 'c1', 'b1', 'a2', 'a3'])
    assert.equal(queue.size, 0)
  })
})
