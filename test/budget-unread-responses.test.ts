import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Libp2p, PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { loadProofArtefacts } from '../src/adapters/proof/artefacts.ts'
import { SnarkjsProver } from '../src/adapters/proof/snarkjs-prover.ts'
import { BusyError } from '../src/domain/protocol/federation-errors.ts'
import { ownChunk, unreadGets, type OwnChunk } from './helpers/unread-attack.ts'
import { startBudgetedNodeProcess, type BudgetedNodeProcess } from './helpers/budgeted-node-process.ts'

const MIB = 2 ** 20
const ATTACKERS = 3
const STREAMS = 64
const GETS = 16

/**
 * Measured before the budgets: 3 ids, each proving for its own 1 MiB chunk and opening
 * 64 streams of 16 gets it never reads, took the node from 901 to 2,034 MiB, never
 * given back. The node now holds at most its budget for them, and ends streams whose
 * writes do not drain.
 */
describe('budget: responses nobody reads', () => {
  let node: BudgetedNodeProcess
  let prover: SnarkjsProver
  let target: PeerId

  before(async () => {
    // a short drain deadline, so the test sees the node end the stalled streams
    node = await startBudgetedNodeProcess({ budgets: { writeDrainTimeout: 8_000, ...JSON.parse(process.env.QULOUD_TEST_BUDGETS ?? '{}') } })
    target = peerIdFromString(node.peerId)
    prover = await SnarkjsProver.create({ artefacts: await loadProofArtefacts() })
  })

  after(async () => {
    await prover.close()
    await node.stop()
  })

  it('3 ids × 64 streams × 16 unread gets: RSS stays bounded, streams are ended, an honest peer is served', { timeout: 240_000 }, async () => {
    // one at a time: a host gets two handshakes in progress (pending-connection-gater.ts)
    const attackers: Array<{ host: Libp2p, own: OwnChunk }> = []
    for (let i = 0; i < ATTACKERS; i++) {
      const host = await node.client()
      attackers.push({ host, own: await ownChunk(host, target, prover) })
    }
    // after the proofs: the verifier's worker and curve are not the attack's doing
    const base = await node.memoryMib()
    const { admitted, refused, stalled } = await unreadGets(target, attackers, STREAMS, GETS)
    assert.ok(admitted > 0, 'the attack got streams in')
    // let the node read chunks for every stream it admitted (and, unbudgeted, pile them up)
    let peak = 0
    for (let i = 0; i < 10; i++) {
      await sleep(500)
      peak = Math.max(peak, await node.memoryMib())
    }
    const usage = await node.usage()
    // the budget holds 64 MiB here (the loopback subnet's); the rest is the V8 heap grown
    // by the burst (heapTotal ~250 MiB with ~40 MiB used) and the chunks' sealed copies.
    // Without the budget the same 5 s took +750 to +800 MiB, and it kept growing
    // (npm run bench -- budgets); the bound leaves room for a loaded machine's GC
    assert.ok(peak - base < 400, `RSS grew ${Math.round(peak - base)} MiB (base ${Math.round(base)}, peak ${Math.round(peak)}); admitted ${admitted}, refused ${refused}, budget ${JSON.stringify(usage)}`)
    // every attacker is a stranger on one subnet (loopback): 64 MiB for all of them
    assert.ok(usage.strangers.memory <= 64 * MIB, `strangers' use ${usage.strangers.memory}`)

    // while the attack holds its memory: an honest stranger from another address (its own
    // subnet budget, room left in the strangers' share) is served at once, no BUSY
    const elsewhere = await node.client(undefined, '127.0.0.2')
    const theirs = await ownChunk(elsewhere, target, prover)
    assert.ok(Buffer.from(await theirs.session.get(theirs.chunkId)).equals(theirs.data))
    await theirs.session.close()
    // the attackers' host holds its quarter of the retrieve protocol's strangers' memory (24 MiB)
    assert.ok((await node.usage()).strangers.memory >= 16 * MIB, 'the attack still held its memory meanwhile')

    // an honest stranger on the attackers' own subnet is served once the drain deadline
    // ended the stalled streams; BUSY before that is a fair answer
    const honest = await node.client()
    const deadline = Date.now() + 120_000
    for (;;) {
      try {
        const mine = await ownChunk(honest, target, prover)
        const got = await mine.session.get(mine.chunkId)
        await mine.session.close()
        assert.ok(Buffer.from(got).equals(mine.data))
        break
      } catch (err) {
        if (!(err instanceof BusyError) || Date.now() > deadline) throw err
        await sleep(1000)
      }
    }
    // the stalled streams were ended by the node, and what they held was given back
    const ended = stalled.filter((s) => s.status !== 'open').length
    assert.ok(ended > 0, 'the node ended stalled streams')
    let left = await node.usage()
    for (let i = 0; i < 60 && left.used.memory > 0; i++) { await sleep(500); left = await node.usage() }
    assert.ok(left.used.memory <= 2 * MIB, `memory still held: ${left.used.memory}`)
    for (const { own } of attackers) await own.session.close().catch(() => {})
  })
})
