import type { ChunkId } from '../domain/formats/chunk-id.ts'
import type { AbortOptions } from './abort-options.ts'

export type { ChunkId }

/**
 * ChunkStore: where a storage node keeps chunk bytes.
 *
 * The store does not interpret bytes: by the time they reach an adapter they are
 * encrypted twice (owner layer, then this node's at-rest layer). Whether an id matches
 * its content is checked at the protocol boundary, not here.
 *
 * Contract, tested for every adapter by test/conformance/chunk-store.suite.ts:
 * - `put` is atomic: after it resolves, `get` returns exactly those bytes, also after
 *   close and reopen for durable adapters; if it rejects (abort, I/O error, too large)
 *   the store holds what it held before, never a partial value.
 * - `put` of an existing id replaces the value (content addressing makes that a
 *   no-op in practice). Concurrent puts of the same id leave one of the values whole.
 * - `get` of a missing id rejects with NotFoundError; `delete` of a missing id resolves
 *   (idempotent). After `delete` resolves the bytes are gone from the medium, not only
 *   from an index.
 * - Ids failing `isChunkId` reject with InvalidInputError; values over
 *   MAX_STORED_CHUNK_BYTES (less a wrapper's overhead) reject with TooLargeError.
 *   Neither touches the store.
 * - Every method checks its AbortSignal before any effect and rejects with AbortError
 *   when it has fired.
 * - `ids` streams every id that is present when iteration starts and is not deleted
 *   during it; ids put or deleted during iteration may or may not appear; none appears
 *   twice. It does not hold the whole id list in memory.
 * - `usedBytes` is the sum of the stored values' lengths.
 * - Methods called after `close` reject with ClosedError. `close` is idempotent.
 * - Medium failures reject with StorageError carrying the native error as `cause`.
 */
export interface ChunkStore {
  put (id: ChunkId, bytes: Uint8Array, options?: AbortOptions): Promise<void>
  get (id: ChunkId, options?: AbortOptions): Promise<Uint8Array>
  has (id: ChunkId, options?: AbortOptions): Promise<boolean>
  delete (id: ChunkId, options?: AbortOptions): Promise<void>
  ids (options?: AbortOptions): AsyncIterable<ChunkId>
  usedBytes (options?: AbortOptions): Promise<number>
  /** Releases files and handles; pending calls finish first. */
  close (): Promise<void>
}
