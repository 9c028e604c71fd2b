import type { ManifestPieceRef } from '../../domain/formats/catalogue.ts'
import { chunkIdOf } from '../../domain/formats/chunk-id.ts'
import { commitmentToDecimal, poseidonCommitment } from '../../domain/proofs/poseidon-commitment.ts'
import { NotFoundError } from '../../errors.ts'
import type { StoredReceipt } from '../../ports/federation-client.ts'
import type { Logger } from '../../ports/logger.ts'
import type { PeerSessions } from './peer-sessions.ts'

/** Several small sealed blobs (manifest or catalogue pieces) to keep under one secret. */
export interface PiecePlacement {
  /** Chunk ids of the pieces, in the order given. */
  ids: string[]
  /** Per peer that stored every piece, its receipts. */
  holders: Map<string, StoredReceipt[]>
}

/**
 * Stores every piece on every peer in `peers` under the commitment of `secret` (deleted
 * under `deleteCommitment`), on the
 * operation's store streams. A peer that fails is left out of the result (and logged);
 * the caller decides whether the remaining ones are enough.
 */
export async function storePieces (sessions: PeerSessions, peers: string[], pieces: Uint8Array[], secret: bigint, deleteCommitment: string, log: Logger): Promise<PiecePlacement> {
  const commitment = commitmentToDecimal(poseidonCommitment(secret))
  const ids = pieces.map((piece) => chunkIdOf(piece))
  const holders = new Map<string, StoredReceipt[]>()
  await Promise.all(peers.map(async (peer) => {
    try {
      holders.set(peer, await Promise.all(pieces.map(async (data, i) => sessions.store(peer, { chunkId: ids[i]!, commitment, deleteCommitment, data }))))
    } catch (err) {
      log.warn(`could not store on ${peer}: ${(err as Error).message}`)
    }
  }))
  return { ids, holders }
}

/**
 * The pieces `refs` names, each from the first of its holders that answers: holders are
 * asked one after the other, only for what is still missing, so a read proves to one
 * holder when that one has everything. The ids are known, so nothing is listed; each
 * piece is checked against its id by the session. Missing pieces are left out.
 */
export async function fetchKnownPieces (sessions: PeerSessions, refs: ManifestPieceRef[], secret: bigint, log: Logger): Promise<Uint8Array[]> {
  const found = new Map<string, Uint8Array>()
  for (const peer of sessions.inOrder([...new Set(refs.flatMap((ref) => ref.holders))])) {
    const wanted = refs.filter((ref) => !found.has(ref.id) && ref.holders.includes(peer))
    await Promise.all(wanted.map(async ({ id }) => {
      try {
        found.set(id, await sessions.get(peer, secret, id))
      } catch (err) {
        log.debug(`piece ${id} from ${peer} failed: ${(err as Error).message}`)
      }
    }))
    if (refs.every((ref) => found.has(ref.id))) break
  }
  return refs.flatMap((ref) => found.get(ref.id) ?? [])
}

/** What `gatherPieces` found: every blob, and which peer holds which ids. */
export interface GatheredPieces {
  pieces: Uint8Array[]
  holders: Map<string, string[]>
}

const GATHER_PARALLELISM = 4

/**
 * Everything `peers` hold under the commitment of `secret`: proves to each, lists and
 * fetches. Peers that cannot be reached or hold nothing are skipped. Only for where
 * chunk ids are not known in advance: recovering the catalogue, receiving a shared file.
 */
export async function gatherPieces (sessions: PeerSessions, peers: string[], secret: bigint, log: Logger): Promise<GatheredPieces> {
  const byId = new Map<string, Uint8Array>()
  const holders = new Map<string, string[]>()
  const queue = [...peers]
  await Promise.all(Array.from({ length: Math.min(GATHER_PARALLELISM, queue.length) }, async () => {
    for (let peer = queue.shift(); peer !== undefined; peer = queue.shift()) {
      try {
        const ids = await sessions.list(peer, secret)
        holders.set(peer, ids)
        for (const id of ids) {
          if (!byId.has(id)) byId.set(id, await sessions.get(peer, secret, id))
        }
      } catch (err) {
        log.debug(`gathering from ${peer} failed: ${(err as Error).message}`)
      }
    }
  }))
  return { pieces: [...byId.values()], holders }
}

/** Deletes `ids` held under `secret` on `peer`; ids already gone are no error. The count of those removed now. */
export async function deletePieces (sessions: PeerSessions, peer: string, ids: string[], secret: bigint): Promise<number> {
  let removed = 0
  await Promise.all(ids.map(async (id) => {
    try {
      await sessions.delete(peer, secret, id)
      removed++
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err
    }
  }))
  return removed
}
