import { randomBytes } from 'node:crypto'
import { after, before } from 'node:test'
import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import { SessionClient } from '../../src/adapters/libp2p/protocols/session-client.ts'
import { StoreClient } from '../../src/adapters/libp2p/protocols/store-client.ts'
import { MAX_DATA_FRAME_BYTES, RETRIEVE_PROTOCOL } from '../../src/adapters/libp2p/wire/constants.ts'
import { FramedStream } from '../../src/adapters/libp2p/wire/framed-stream.ts'
import { SessionRequestCodec, SessionResponseCodec } from '../../src/adapters/libp2p/wire/messages.ts'
import { chunkIdOf } from '../../src/domain/formats/chunk-id.ts'
import { commitmentToDecimal, poseidonCommitment } from '../../src/domain/proofs/poseidon-commitment.ts'
import type { Prover } from '../../src/ports/prover.ts'
import { loadProofArtefacts } from '../../src/adapters/proof/artefacts.ts'
import { SnarkjsProver } from '../../src/adapters/proof/snarkjs-prover.ts'
import { startBudgetedNodeProcess, type BudgetedNodeProcess } from './budgeted-node-process.ts'

const MIB = 2 ** 20

export interface OwnChunk { chunkId: string, commitment: string, data: Uint8Array, secret: bigint, session: SessionClient }

/** Stores a 1 MiB chunk on `target` under a fresh secret and proves for it; the session stays open. */
export async function ownChunk (host: Libp2p, target: PeerId, prover: Prover): Promise<OwnChunk> {
  const secret = 1000n + BigInt(randomBytes(4).readUInt32BE())
  const commitment = poseidonCommitment(secret)
  const data = randomBytes(MIB)
  const store = await StoreClient.open(host, target)
  await store.store({ chunkId: chunkIdOf(data), data, commitment: commitmentToDecimal(commitment), deleteCommitment: commitmentToDecimal(commitment) })
  await store.close()
  const session = await SessionClient.open({ host, peer: target, action: 'read', secret, commitment, prover })
  return { chunkId: chunkIdOf(data), commitment: commitmentToDecimal(commitment), data, secret, session }
}

export interface UnreadAttack {
  admitted: number
  refused: number
  stalled: Stream[]
  /** The stalled streams' framed readers, in the same order: an attack may go on to read their answers. */
  readers: FramedStream[]
}

/**
 * Each attacker opens `streams` retrieve streams under the session it proved, asks
 * for its own chunk `gets` times on each and reads nothing: the streams are paused,
 * since a libp2p stream nobody reads still takes in what arrives.
 */
export async function unreadGets (target: PeerId, attackers: Array<{ host: Libp2p, own: OwnChunk }>, streams: number, gets: number): Promise<UnreadAttack> {
  const result: UnreadAttack = { admitted: 0, refused: 0, stalled: [], readers: [] }
  await Promise.all(attackers.map(async ({ host, own }) => {
    for (let i = 0; i < streams; i++) {
      try {
        const stream = await host.dialProtocol(target, RETRIEVE_PROTOCOL)
        const framed = new FramedStream(stream, { maxFrameBytes: MAX_DATA_FRAME_BYTES, idleTimeoutMs: 60_000 })
        await framed.write(SessionRequestCodec, { hello: { commitment: own.commitment } })
        const answer = await framed.read(SessionResponseCodec)
        if (answer === undefined || !('ready' in answer)) { result.refused++; continue }
        result.admitted++
        stream.pause()
        for (let g = 0; g < gets; g++) await framed.write(SessionRequestCodec, { get: { chunkId: own.chunkId } })
        result.stalled.push(stream)
        result.readers.push(framed)
      } catch {
        result.refused++
      }
    }
  }))
  return result
}

/** A budgeted node process to attack and a prover for the attacker's own chunk, started before the file's tests and stopped after. */
export function attackedNode (): { node: () => BudgetedNodeProcess, prover: () => SnarkjsProver } {
  let node: BudgetedNodeProcess
  let prover: SnarkjsProver
  before(async () => {
    node = await startBudgetedNodeProcess({ budgets: {} })
    prover = await SnarkjsProver.create({ artefacts: await loadProofArtefacts() })
  })
  after(async () => {
    await prover.close()
    await node.stop()
  })
  return { node: () => node, prover: () => prover }
}
