// What the resource budgets cost and what they save, in one run: a storage node in its
// own process with the default budgets and one with budgets too large to matter. For
// each, an honest peer's retrieve throughput (BENCH_MIB MiB, 8 gets in flight), then
// the node's RSS growth while 3 stranger ids each hold 64 streams of 16 gets they never
// read (the "Memory" attack of the hostile-federation issue).
//   bash scripts/node.sh bench/run.ts budgets          (BENCH_MIB=64)
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { peerIdFromString } from '@libp2p/peer-id'
import { loadProofArtefacts } from '../src/adapters/proof/artefacts.ts'
import { SnarkjsProver } from '../src/adapters/proof/snarkjs-prover.ts'
import { SessionClient } from '../src/adapters/libp2p/protocols/session-client.ts'
import { StoreClient } from '../src/adapters/libp2p/protocols/store-client.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { commitmentToDecimal, poseidonCommitment } from '../src/domain/proofs/poseidon-commitment.ts'
import { startBudgetedNodeProcess, type BudgetedNodeSettings } from '../test/helpers/budgeted-node-process.ts'
import { ownChunk, unreadGets } from '../test/helpers/unread-attack.ts'

const MIB = 2 ** 20
const total = Number(process.env.BENCH_MIB ?? 64)
const WINDOW = 8
const HUGE = 2 ** 40
const UNBUDGETED: BudgetedNodeSettings = {
  budgets: { memoryBudget: HUGE, peerMemoryBudget: HUGE, subnetMemoryBudget: HUGE, maxStreams: 1e6, maxStreamsPerSubnet: 1e6, maxStreamsPerPeer: 1e6 }
}
const prover = await SnarkjsProver.create({ artefacts: await loadProofArtefacts() })

async function measure (settings: BudgetedNodeSettings): Promise<{ retrieve: number, rssGrowth: number, held: number }> {
  const node = await startBudgetedNodeProcess(settings)
  const target = peerIdFromString(node.peerId)
  try {
    const host = await node.client()
    const secret = 7654321n
    const commitment = poseidonCommitment(secret)
    const chunks = Array.from({ length: total }, () => randomBytes(MIB))
    const store = await StoreClient.open(host, target)
    for (const data of chunks) await store.store({ chunkId: chunkIdOf(data), data, commitment: commitmentToDecimal(commitment), deleteCommitment: commitmentToDecimal(commitment) })
    await store.close()
    const session = await SessionClient.open({ host, peer: target, action: 'read', secret, commitment, prover })
    const started = performance.now()
    let next = 0
    await Promise.all(Array.from({ length: WINDOW }, async () => { while (next < total) await session.get(chunkIdOf(chunks[next++]!)) }))
    const retrieve = total * MIB / 1e6 / ((performance.now() - started) / 1000)
    await session.close()

    const attackers = []
    for (let i = 0; i < 3; i++) {
      const attacker = await node.client()
      attackers.push({ host: attacker, own: await ownChunk(attacker, target, prover) })
    }
    const base = await node.memoryMib()
    await unreadGets(target, attackers, 64, 16)
    let peak = 0
    for (let i = 0; i < 10; i++) { await sleep(500); peak = Math.max(peak, await node.memoryMib()) }
    const held = (await node.usage()).used.memory / MIB
    return { retrieve, rssGrowth: peak - base, held }
  } finally {
    await node.stop()
  }
}

// interleaved, so a change of machine load during the run weighs on both
const first = await measure(UNBUDGETED)
const budgeted = await measure({})
const second = await measure(UNBUDGETED)
const unbudgeted = { retrieve: (first.retrieve + second.retrieve) / 2, rssGrowth: (first.rssGrowth + second.rssGrowth) / 2, held: (first.held + second.held) / 2 }
await prover.close()
console.log(`storage node with default budgets vs budgets too large to matter; ${total} MiB retrieve (${WINDOW} in flight), then 3 ids x 64 streams x 16 unread gets, 127.0.0.1`)
console.log('| measure | default budgets | unbudgeted | ratio (unbudgeted = 1) |')
console.log('|---|---:|---:|---:|')
console.log(`| honest retrieve, calm (MB/s) | ${budgeted.retrieve.toFixed(0)} | ${unbudgeted.retrieve.toFixed(0)} | ${(budgeted.retrieve / unbudgeted.retrieve).toFixed(2)}x |`)
console.log(`| node RSS growth under the attack, 5 s (MiB) | ${budgeted.rssGrowth.toFixed(0)} | ${unbudgeted.rssGrowth.toFixed(0)} | ${(budgeted.rssGrowth / unbudgeted.rssGrowth).toFixed(2)}x |`)
console.log(`| bytes the budget counts as held (MiB) | ${budgeted.held.toFixed(0)} | ${unbudgeted.held.toFixed(0)} | ${(budgeted.held / unbudgeted.held).toFixed(2)}x |`)
process.exit(0)
