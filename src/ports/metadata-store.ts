import type { AbortOptions } from './abort-options.ts'
import type { ChunkId } from '../domain/formats/chunk-id.ts'

/**
 * What a storage node knows about one stored chunk for one owner. The same chunk id
 * can be stored by several owners, each under their own commitment, so records are
 * keyed by (chunkId, commitment).
 */
export interface ChunkRecord {
  chunkId: ChunkId
  /** Poseidon commitment to the owner's per-file retrieval secret, decimal string. */
  commitment: string
  /** Length in bytes of the owner ciphertext. */
  size: number
  /** Peer id (base58) of the owner's node that stored it, as authenticated by Noise. */
  storedBy: string
  /** Milliseconds since the epoch. */
  storedAt: number
}

/**
 * MetadataStore: the storage node's index of chunk records.
 *
 * Contract:
 * - `putRecord` is atomic and idempotent for the same (chunkId, commitment): the later
 *   record replaces the earlier.
 * - `getRecord` rejects with NotFoundError when absent.
 * - `recordsForChunk` and `recordsForCommitment` stream matching records in key order.
 * - `deleteRecord` is idempotent.
 * - `bytesStoredBy(peer)` is the sum of `size` over that peer's records (quota input).
 * - Methods check their AbortSignal first; after `close` they reject with ClosedError.
 */
export interface MetadataStore {
  putRecord (record: ChunkRecord, options?: AbortOptions): Promise<void>
  getRecord (chunkId: ChunkId, commitment: string, options?: AbortOptions): Promise<ChunkRecord>
  deleteRecord (chunkId: ChunkId, commitment: string, options?: AbortOptions): Promise<void>
  recordsForChunk (chunkId: ChunkId, options?: AbortOptions): AsyncIterable<ChunkRecord>
  /** Records under `commitment` in chunk id order, those after `after` when given. */
  recordsForCommitment (commitment: string, options?: AbortOptions & { after?: ChunkId }): AsyncIterable<ChunkRecord>
  bytesStoredBy (peer: string, options?: AbortOptions): Promise<number>
  close (): Promise<void>
}
