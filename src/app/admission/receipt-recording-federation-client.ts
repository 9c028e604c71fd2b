import { NotFoundError } from '../../errors.ts'
import { CapacityFullError, ChunkIdMismatchError, QuotaExceededError } from '../../domain/protocol/federation-errors.ts'
import { commitmentToDecimal, poseidonCommitment } from '../../domain/proofs/poseidon-commitment.ts'
import type { FederationClient } from '../../ports/federation-client.ts'
import { replaceStore } from '../replace-store.ts'

/** Where the owner side's receipts are counted (src/adapters/data-dir/receipt-ledger.ts). */
export interface ReceiptRecorder {
  stored (peerId: string, chunkId: string, deleteCommitment: string, bytes: number): Promise<void>
  deleted (peerId: string, chunkId: string, deleteCommitment: string): Promise<void>
  /** `peerId` proved to hold nothing of `chunkId` for us: whatever receipts say, it keeps none. */
  lost?: (peerId: string, chunkId: string) => Promise<void>
  /** The room `peerId` said it has left for this node. */
  room?: (peerId: string, bytes: number) => Promise<void>
}

/**
 * A FederationClient that counts what each peer verifiably keeps for this node: a
 * chunk once its signed receipt checked out (the client below verifies it), gone once
 * a delete session removed it or found nothing (a delete, or a renewal naming it missing), or a proven read found it missing.
 * Reciprocity credits peers with these counts. A delete is keyed by D, the only commitment a delete session knows.
 */
export function recordReceipts (inner: FederationClient, recorder: ReceiptRecorder): FederationClient {
  return {
    candidates: async (...args) => inner.candidates(...args),
    openStore: async (peerId, options) => {
      const channel = await inner.openStore(peerId, options)
      return replaceStore(channel, async (chunk, o) => {
        let receipt
        try {
          receipt = await channel.store(chunk, o)
        } catch (err) {
          // a node out of room for us has none worth counting on
          if (err instanceof QuotaExceededError || err instanceof CapacityFullError) await recorder.room?.(peerId, 0)
          throw err
        }
        await recorder.stored(peerId, chunk.chunkId, chunk.deleteCommitment, chunk.data.byteLength)
        const room = channel.roomLeft?.()
        if (room !== undefined) await recorder.room?.(peerId, room)
        return receipt
      })
    },
    openSession: async (peerId, proof, options) => {
      const session = await inner.openSession(peerId, proof, options)
      if (proof.action !== 'delete') {
        // a holder that answers a proven read (a get, or an audit of sampled leaves) with
        // "not here", or a get with other bytes, dropped what its receipt promised: the credit goes with it
        const reading = async <T>(chunkId: string, read: () => Promise<T>): Promise<T> => {
          try {
            return await read()
          } catch (err) {
            // other bytes than the id's (Noise rules out the wire) are no more the chunk than none
            if (err instanceof NotFoundError || err instanceof ChunkIdMismatchError) await recorder.lost?.(peerId, chunkId)
            throw err
          }
        }
        const audit = session.audit?.bind(session)
        return {
          ...session,
          get: async (chunkId, o) => reading(chunkId, async () => session.get(chunkId, o)),
          ...(audit === undefined ? {} : { audit: async (chunkId: string, leaves: number[], o?: Parameters<typeof audit>[2]) => reading(chunkId, async () => audit(chunkId, leaves, o)) }),
          list: async (...args) => session.list(...args),
          close: async (...args) => session.close(...args),
          delete: async (...args) => session.delete(...args)
        }
      }
      const deleteCommitment = commitmentToDecimal(poseidonCommitment(proof.secret))
      return {
        ...session,
        get: async (...args) => session.get(...args),
        list: async (...args) => session.list(...args),
        close: async (...args) => session.close(...args),
        delete: async (chunkId, o) => {
          try {
            const result = await session.delete(chunkId, o)
            await recorder.deleted(peerId, chunkId, deleteCommitment)
            return result
          } catch (err) {
            if (err instanceof NotFoundError) await recorder.deleted(peerId, chunkId, deleteCommitment)
            throw err
          }
        },
        // a holder that renews no record of a chunk under D keeps none (it lost or collected it)
        ...(session.renew === undefined
          ? {}
          : {
              renew: async (chunkIds: string[], o?: Parameters<NonNullable<typeof session.renew>>[1]) => {
                const answer = await session.renew!(chunkIds, o)
                for (const chunkId of answer.missing) await recorder.deleted(peerId, chunkId, deleteCommitment)
                return answer
              }
            })
      }
    }
  }
}
