import type { AbortOptions } from '../../ports/abort-options.ts'
import type { ChunkId, ChunkStore } from '../../ports/chunk-store.ts'
import type { NodeMetrics } from './node-metrics.ts'

/**
 * Counts what passes through a ChunkStore: bytes stored and served, and operations.
 * Outside the at-rest encryption (see wrapChunkStore), so it counts the bytes peers
 * sent and asked for; a failed operation counts nothing.
 */
export class MeteredChunkStore implements ChunkStore {
  private readonly inner: ChunkStore
  private readonly metrics: NodeMetrics

  constructor (inner: ChunkStore, metrics: NodeMetrics) {
    this.inner = inner
    this.metrics = metrics
  }

  async put (id: ChunkId, bytes: Uint8Array, options?: AbortOptions): Promise<void> {
    await this.inner.put(id, bytes, options)
    this.metrics.chunkOperations.inc({ operation: 'put' })
    this.metrics.chunkBytes.inc({ direction: 'stored' }, bytes.byteLength)
  }

  async get (id: ChunkId, options?: AbortOptions): Promise<Uint8Array> {
    const bytes = await this.inner.get(id, options)
    this.metrics.chunkOperations.inc({ operation: 'get' })
    this.metrics.chunkBytes.inc({ direction: 'served' }, bytes.byteLength)
    return bytes
  }

  async has (id: ChunkId, options?: AbortOptions): Promise<boolean> {
    return this.inner.has(id, options)
  }

  async delete (id: ChunkId, options?: AbortOptions): Promise<void> {
    await this.inner.delete(id, options)
    this.metrics.chunkOperations.inc({ operation: 'delete' })
  }

  ids (options?: AbortOptions): AsyncIterable<ChunkId> {
    return this.inner.ids(options)
  }

  async usedBytes (options?: AbortOptions): Promise<number> {
    return this.inner.usedBytes(options)
  }

  async count (options?: AbortOptions): Promise<number> {
    return this.inner.count(options)
  }

  async close (): Promise<void> {
    await this.inner.close()
  }
}
