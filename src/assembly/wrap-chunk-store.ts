import { AtRestEncryptedChunkStore } from '../adapters/chunk-store/at-rest-encrypted-chunk-store.ts'
import { MeteredChunkStore } from '../adapters/metrics/metered-chunk-store.ts'
import type { NodeMetrics } from '../adapters/metrics/node-metrics.ts'
import type { ChunkStore } from '../ports/chunk-store.ts'

export interface ChunkStoreWrapping {
  /** The node's at-rest key, `nodeAtRestKey(nodeSecret)` (32 bytes). */
  atRestKey: Uint8Array
  /** The daemon's metrics: bytes stored and served are counted outside the encryption. */
  metrics?: NodeMetrics
}

/**
 * The chunk store as the storage service sees it: the disk adapter `inner` with every
 * wrapper of the ChunkStore port around it, composed here and nowhere else. From the
 * outside in:
 *
 * 1. metrics (when given): bytes stored and served, as callers asked for them;
 * 2. at-rest encryption with the node's own key, directly around the medium, so no
 *    byte reaches the disk adapter unencrypted and the AAD binds the chunk id the
 *    caller used; a wrapper that counts or limits (metrics, I/O budgets) goes outside
 *    it, so it sees the sizes and ids callers asked for;
 * 3. `inner`, the medium (fs, LevelDB, memory).
 *
 * Closing the result closes `inner`.
 */
export function wrapChunkStore (inner: ChunkStore, options: ChunkStoreWrapping): ChunkStore {
  const encrypted = new AtRestEncryptedChunkStore({ inner, key: options.atRestKey })
  return options.metrics === undefined ? encrypted : new MeteredChunkStore(encrypted, options.metrics)
}
