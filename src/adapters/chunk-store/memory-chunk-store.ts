import { NotFoundError } from '../../errors.ts'
import type { AbortOptions } from '../../ports/abort-options.ts'
import type { ChunkId, ChunkStore } from '../../ports/chunk-store.ts'
import { checkCall, checkValue } from './checks.ts'

/** A ChunkStore in process memory: for tests and for nodes that offer no disk. */
export class MemoryChunkStore implements ChunkStore {
  private readonly chunks = new Map<ChunkId, Uint8Array>()
  private used = 0
  private closed = false

  async put (id: ChunkId, bytes: Uint8Array, options?: AbortOptions): Promise<void> {
    checkCall(this.closed, id, options?.signal)
    checkValue(bytes)
    this.used += bytes.byteLength - (this.chunks.get(id)?.byteLength ?? 0)
    // a copy, so the caller mutating its buffer cannot change what is stored
    this.chunks.set(id, Uint8Array.from(bytes))
  }

  async get (id: ChunkId, options?: AbortOptions): Promise<Uint8Array> {
    checkCall(this.closed, id, options?.signal)
    const bytes = this.chunks.get(id)
    if (bytes === undefined) throw new NotFoundError(`chunk ${id} not found`)
    return Uint8Array.from(bytes)
  }

  async has (id: ChunkId, options?: AbortOptions): Promise<boolean> {
    checkCall(this.closed, id, options?.signal)
    return this.chunks.has(id)
  }

  async delete (id: ChunkId, options?: AbortOptions): Promise<void> {
    checkCall(this.closed, id, options?.signal)
    this.used -= this.chunks.get(id)?.byteLength ?? 0
    this.chunks.delete(id)
  }

  async * ids (options?: AbortOptions): AsyncIterable<ChunkId> {
    checkCall(this.closed, undefined, options?.signal)
    // A live Map iterator would visit an id deleted and put again a second time (it moves
    // to the end of the insertion order); a snapshot of the keys cannot, and skipping the
    // ones gone since still honours deletions. The ids are held in memory anyway.
    for (const id of [...this.chunks.keys()]) {
      checkCall(this.closed, undefined, options?.signal)
      if (this.chunks.has(id)) yield id
    }
  }

  async usedBytes (options?: AbortOptions): Promise<number> {
    checkCall(this.closed, undefined, options?.signal)
    return this.used
  }

  async count (options?: AbortOptions): Promise<number> {
    checkCall(this.closed, undefined, options?.signal)
    return this.chunks.size
  }

  async close (): Promise<void> {
    this.closed = true
  }
}
