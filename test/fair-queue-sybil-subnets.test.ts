import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { FairQueue } from '../src/adapters/proof/fair-queue.ts'
import { DEFAULT_VERIFY_LIMITS, WorkerPoolVerifier } from '../src/adapters/proof/worker-pool-verifier.ts'
import { makeProofFixtures } from './helpers/proof-fixtures.ts'

/**
 * The per-subnet lane bounds one network, but `total` is shared: with the defaults, 16
 * subnets of 16 waiting proofs fill it, and an IPv6 /64 is a subnet, so one host on a
 * /56 has 256 of them. A requester from a network with nothing waiting must still get
 * in: it takes the place of the newest job of the network with the most waiting.
 */
describe('FairQueue against a flood from many subnets', () => {
  const flood = (queue: FairQueue<string>): void => {
    for (let net = 0; queue.size < DEFAULT_VERIFY_LIMITS.total; net++) {
      for (let i = 0; i < DEFAULT_VERIFY_LIMITS.perSubnet && queue.size < DEFAULT_VERIFY_LIMITS.total; i++) {
        queue.push({ peer: `sybil-${net}-${i % 4}`, subnet: `ip6:2001:db8:0:${net.toString(16)}` }, `flood-${net}-${i}`)
      }
    }
  }

  it('an honest requester gets in when every slot is taken by flooding subnets', () => {
    const queue = new FairQueue<string>(DEFAULT_VERIFY_LIMITS)
    flood(queue)
    assert.equal(queue.size, DEFAULT_VERIFY_LIMITS.total)
    const evicted = queue.push({ peer: 'honest', subnet: 'ip4:198.51.100' }, 'honest')
    assert.match(String(evicted), /^flood-/, 'a flooder\'s job made room')
    assert.equal(queue.size, DEFAULT_VERIFY_LIMITS.total)
    let position = 0
    for (let job = queue.shift(); job !== 'honest'; job = queue.shift()) {
      assert.notEqual(job, undefined, 'the honest job is in the queue')
      position++
    }
    assert.ok(position <= DEFAULT_VERIFY_LIMITS.total / DEFAULT_VERIFY_LIMITS.perSubnet, `served after ${position} jobs: one round of the subnets`)
  })

  it('room is taken only from a subnet with more waiting than the newcomer\'s would have', () => {
    const queue = new FairQueue<string>({ perRequester: 4, perSubnet: 4, total: 4 })
    for (const job of ['a1', 'a2']) queue.push({ peer: 'a', subnet: 'A' }, job)
    for (const job of ['b1', 'b2']) queue.push({ peer: 'b', subnet: 'B' }, job)
    assert.throws(() => queue.push({ peer: 'a', subnet: 'A' }, 'a3'), { name: 'BusyError' }, 'an equal share takes nothing')
    assert.equal(queue.push({ peer: 'c', subnet: 'C' }, 'c1'), 'a2', 'the newest job of the biggest subnet')
    assert.throws(() => queue.push({ peer: 'c', subnet: 'C' }, 'c2'), { name: 'BusyError' }, 'C would have 2, B has 2')
    assert.equal(queue.push({ peer: 'd', subnet: 'D' }, 'd1'), 'b2')
    const order: string[] = []
    for (let job = queue.shift(); job !== undefined; job = queue.shift()) order.push(job)
    assert.deepEqual(order.sort(), ['a1', 'b1', 'c1', 'd1'])
  })
})

describe('WorkerPoolVerifier when the queue is full of one subnet\'s proofs', () => {
  it('the crowded-out proof is refused BUSY and the newcomer\'s is verified', { timeout: 60_000 }, async () => {
    const { artefacts, proof, commitment, context } = await makeProofFixtures()
    const verifier = await WorkerPoolVerifier.create({ verificationKey: artefacts.verificationKey, workers: 1, limits: { perRequester: 3, perSubnet: 3, total: 2 } })
    try {
      const bogus = { proof, commitment, context: context + 1n }
      const flooder = { peer: 'f', subnet: 'ip6:2001:db8:0:1' }
      const flood = [0, 1, 2].map(async () => verifier.verify(bogus, { requester: flooder }).then(String, (err: Error) => err.name))
      const honest = verifier.verify({ proof, commitment, context }, { requester: { peer: 'h', subnet: 'ip4:198.51.100' } })
      assert.equal(await honest, true)
      assert.deepEqual(await Promise.all(flood), ['false', 'false', 'BusyError'], 'the first goes to the worker, the newest waiting one makes room')
      assert.equal(verifier.waiting, 0)
    } finally {
      await verifier.close()
    }
  })
})
