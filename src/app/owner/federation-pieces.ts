import type { AbortOptions } from '../../ports/abort-options.ts'
import type { FederationClient, StoredReceipt } from '../../ports/federation-client.ts'
import type { Logger } from '../../ports/logger.ts'
import { chunkIdOf } from '../../domain/formats/chunk-id.ts'
import { commitmentToDecimal, poseidonCommitment } from '../../domain/proofs/poseidon-commitment.ts'
import { NotFoundError } from '../../errors.ts'

/** Several small sealed blobs (manifest or catalogue pieces) to keep under one secret. */
export interface PiecePlacement {
  /** Chunk ids of the pieces, in the order given. */
  ids: string[]
  /** Per peer that stored every piece, its receipts. */
  holders: Map<string, StoredReceipt[]>
}

/**
 * Stores every piece on every peer in `peers` under the commitment of `secret`.
 * A peer that fails is left out of the result (and logged); the caller decides
 * whether the remaining ones are enough.
 */
export async function storePieces (federation: FederationClient, peers: string[], pieces: Uint8Array[], secret: bigint, log: Logger, options?: AbortOptions): Promise<PiecePlacement> {
  const commitment = commitmentToDecimal(poseidonCommitment(secret))
  const ids = pieces.map((piece) => chunkIdOf(piece))
  const holders = new Map<string, StoredReceipt[]>()
  await Promise.all(peers.map(async (peer) => {
    try {
      const channel = await federation.openStore(peer, options)
      try {
        const receipts = await Promise.all(pieces.map(async (data, i) => channel.store({ chunkId: ids[i]!, commitment, data })))
        holders.set(peer, receipts)
      } finally {
        await channel.close().catch(() => {})
      }
    } catch (err) {
      log.warn(`could not store on ${peer}: ${(err as Error).message}`)
    }
  }))
  return { ids, holders }
}

/** What `gatherPieces` found: every blob, and which peer holds which ids. */
export interface GatheredPieces {
  pieces: Uint8Array[]
  holders: Map<string, string[]>
}

const GATHER_PARALLELISM = 4

/**
 * Everything `peers` hold under the commitment of `secret`: proves to each, lists and
 * fetches. Peers that cannot be reached or hold nothing are skipped. Used where chunk
 * ids are not known in advance: recovering the catalogue, receiving a shared file.
 */
export async function gatherPieces (federation: FederationClient, peers: string[], secret: bigint, log: Logger, options?: AbortOptions & { skip?: Set<string> }): Promise<GatheredPieces> {
  const byId = new Map<string, Uint8Array>()
  const holders = new Map<string, string[]>()
  const queue = [...peers]
  await Promise.all(Array.from({ length: Math.min(GATHER_PARALLELISM, queue.length) }, async () => {
    for (let peer = queue.shift(); peer !== undefined; peer = queue.shift()) {
      try {
        const session = await federation.openSession(peer, { action: 'read', secret }, options)
        try {
          const ids = await session.list()
          holders.set(peer, ids)
          for (const id of ids) {
            if (byId.has(id) || options?.skip?.has(id) === true) continue
            byId.set(id, await session.get(id))
          }
        } finally {
          await session.close().catch(() => {})
        }
      } catch (err) {
        log.debug(`gathering from ${peer} failed: ${(err as Error).message}`)
      }
    }
  }))
  return { pieces: [...byId.values()], holders }
}

/** Deletes `ids` held under `secret` on `peer`; ids already gone count as deleted. */
export async function deletePieces (federation: FederationClient, peer: string, ids: string[], secret: bigint, options?: AbortOptions): Promise<number> {
  if (ids.length === 0) return 0
  const session = await federation.openSession(peer, { action: 'delete', secret }, options)
  let removed = 0
  try {
    await Promise.all(ids.map(async (id) => {
      try {
        await session.delete(id)
        removed++
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err
      }
    }))
  } finally {
    await session.close().catch(() => {})
  }
  return removed
}
