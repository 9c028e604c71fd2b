import type { AbortOptions } from './abort-options.ts'

/**
 * The owner's local copy of their catalogue: its sealed pieces (already encrypted with
 * the catalogue key) and which peers hold them. The federation copy is the truth; the
 * cache saves a proof round per command and tells which old pieces to delete.
 *
 * Contract: `read` resolves to undefined when nothing was written (a new or recovered
 * node); `write` replaces the whole value atomically.
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
