import assert from 'node:assert/strict'
import { once } from 'node:events'
import type { Worker } from 'node:worker_threads'
import { after, before, describe, it } from 'node:test'
import { WorkerPoolVerifier } from '../src/adapters/proof/worker-pool-verifier.ts'
import { makeProofFixtures, type ProofFixtures } from './helpers/proof-fixtures.ts'

/** The pool's worker threads, reached the way a crash would: from outside the pool's API. */
function workersOf (pool: WorkerPoolVerifier): Worker[] {
  return (pool as unknown as { slots: Array<{ worker: Worker }> }).slots.map((s) => s.worker)
}

const within = async <T>(ms: number, work: Promise<T>): Promise<T> => {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([work, new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`not settled within ${ms} ms`)), ms) })])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * A worker thread that dies (out of memory, a crash in the pairing code) is replaced.
 * A proof that arrives before the replacement is ready must wait for it, not be posted
 * to the dead thread and wait for ever: a session that awaits such a verdict holds its
 * stream until the lifetime drop, and with one worker every proof in the window is lost.
 */
describe('WorkerPoolVerifier when a worker dies', () => {
  let fixtures: ProofFixtures
  let verifier: WorkerPoolVerifier

  before(async () => {
    fixtures = await makeProofFixtures()
    verifier = await WorkerPoolVerifier.create({ verificationKey: fixtures.artefacts.verificationKey, workers: 1 })
  })
  after(async () => { await verifier.close() })

  it('a proof sent while the replacement starts is verified by the replacement', { timeout: 60_000 }, async () => {
    const { proof, commitment, context } = fixtures
    const [worker] = workersOf(verifier)
    const exited = once(worker!, 'exit')
    await worker!.terminate()
    await exited
    assert.equal(await within(15_000, verifier.verify({ proof, commitment, context }, { requester: { peer: 'after-crash' } })), true)
    assert.notEqual(workersOf(verifier)[0], worker, 'the dead worker was replaced')
  })

  it('a proof in flight when its worker dies fails typed, and the next one is verified', { timeout: 60_000 }, async () => {
    const { proof, commitment, context } = fixtures
    const [worker] = workersOf(verifier)
    const inFlight = verifier.verify({ proof, commitment, context }, { requester: { peer: 'a' } })
    await worker!.terminate()
    await assert.rejects(within(15_000, inFlight), { name: 'ProofVerificationError' })
    assert.equal(await within(15_000, verifier.verify({ proof, commitment, context }, { requester: { peer: 'b' } })), true)
    assert.equal((verifier as unknown as { replies: Map<number, unknown> }).replies.size, 0, 'no reply is waited for from a dead worker')
  })
})
