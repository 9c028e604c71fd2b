import type { AbortOptions } from './abort-options.ts'

/**
 * The owner's local copy of their catalogue: its sealed pieces (already encrypted with
 * the catalogue key) and which peers hold them. The federation copy is the truth; the
 * cache saves a proof round per command and tells which old pieces to delete.
 *
 * Contract:
 * - `read` resolves to undefined when nothing was written (a new or recovered node),
 *   and when what is there cannot be read back as a catalogue (a damaged cache is
 *   only a cache: the federation copy is fetched instead).
 * - `write` replaces the whole value atomically: a reader sees the old value or the
 *   new one, never a mix, never a merge; durable adapters keep it across a reopen.
 * - Values are copied both ways: changing an object after writing it, or one that
 *   `read` returned, changes nothing in the cache.
 * - A failure of the medium rejects with DataDirError (cause kept).
 * - An aborted signal rejects with AbortError before anything is read or written.
 */
export interface CachedCatalogue {
  pieces: Uint8Array[]
  /** Peer id -> chunk ids of catalogue pieces it holds. */
  holders: Record<string, string[]>
}

export interface CatalogueCache {
  read (options?: AbortOptions): Promise<CachedCatalogue | undefined>
  write (value: CachedCatalogue, options?: AbortOptions): Promise<void>
}
