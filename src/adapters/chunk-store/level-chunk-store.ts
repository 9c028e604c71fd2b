import { Level } from 'level'
import { NotFoundError, StorageError } from '../../errors.ts'
import type { AbortOptions } from '../../ports/abort-options.ts'
import type { ChunkId, ChunkStore } from '../../ports/chunk-store.ts'
import { KeyedMutex } from '../../util/keyed-mutex.ts'
import { checkCall, checkValue } from './checks.ts'

export interface LevelChunkStoreInit {
  /** Directory of the LevelDB database; created when missing. */
  location: string
}

interface Compactable { compactRange (start: string, end: string): Promise<void> }

const CHUNK = 'c!'
const USED = 'm!used'
// absent in databases written before it was kept: counted once then
const COUNT = 'm!count'

/**
 * Chunks as values in a LevelDB database. Each put or delete is one atomic batch that
 * also updates the stored byte and value counts, so they survive crashes exactly. Deleted
 * values are gone from the live data at once and from disk at the next compaction,
 * which `delete` requests for the deleted key's range.
 */
export class LevelChunkStore implements ChunkStore {
  private readonly db: Level<string, Uint8Array>
  // one writer at a time keeps the byte counter consistent; LevelDB writes are cheap
  private readonly writes = new KeyedMutex()
  private closed = false

  private constructor (db: Level<string, Uint8Array>) {
    this.db = db
  }

  static async open (init: LevelChunkStoreInit): Promise<LevelChunkStore> {
    const db = new Level<string, Uint8Array>(init.location, { keyEncoding: 'utf8', valueEncoding: 'view' })
    await level(() => db.open())
    return new LevelChunkStore(db)
  }

  async put (id: ChunkId, bytes: Uint8Array, options?: AbortOptions): Promise<void> {
    checkCall(this.closed, id, options?.signal)
    checkValue(bytes)
    await this.writes.run('', async () => {
      checkCall(this.closed, id, options?.signal)
      const previous = await level(() => this.db.get(CHUNK + id))
      const used = await this.readUsed()
      const count = await this.readCount()
      await level(() => this.db.batch([
        { type: 'put', key: CHUNK + id, value: bytes },
        { type: 'put', key: USED, value: encodeCount(used + bytes.byteLength - (previous?.byteLength ?? 0)) },
        { type: 'put', key: COUNT, value: encodeCount(count + (previous === undefined ? 1 : 0)) }
      ], { sync: true }))
    })
  }

  async get (id: ChunkId, options?: AbortOptions): Promise<Uint8Array> {
    checkCall(this.closed, id, options?.signal)
    const bytes = await level(() => this.db.get(CHUNK + id))
    if (bytes === undefined) throw new NotFoundError(`chunk ${id} not found`)
    return bytes
  }

  async has (id: ChunkId, options?: AbortOptions): Promise<boolean> {
    checkCall(this.closed, id, options?.signal)
    return level(() => this.db.has(CHUNK + id))
  }

  async delete (id: ChunkId, options?: AbortOptions): Promise<void> {
    checkCall(this.closed, id, options?.signal)
    await this.writes.run('', async () => {
      const previous = await level(() => this.db.get(CHUNK + id))
      if (previous === undefined) return
      const used = await this.readUsed()
      const count = await this.readCount()
      await level(() => this.db.batch([
        { type: 'del', key: CHUNK + id },
        { type: 'put', key: USED, value: encodeCount(used - previous.byteLength) },
        { type: 'put', key: COUNT, value: encodeCount(count - 1) }
      ], { sync: true }))
      // in Node `level` is classic-level, whose compactRange its shared typings omit
      await level(() => (this.db as unknown as Compactable).compactRange(CHUNK + id, CHUNK + id + '\xff'))
    })
  }

  async * ids (options?: AbortOptions): AsyncIterable<ChunkId> {
    checkCall(this.closed, undefined, options?.signal)
    for await (const key of this.db.keys({ gt: CHUNK, lt: CHUNK + '\xff', signal: options?.signal })) {
      checkCall(this.closed, undefined, options?.signal)
      yield key.slice(CHUNK.length)
    }
  }

  async usedBytes (options?: AbortOptions): Promise<number> {
    checkCall(this.closed, undefined, options?.signal)
    return this.readUsed()
  }

  async count (options?: AbortOptions): Promise<number> {
    checkCall(this.closed, undefined, options?.signal)
    return this.writes.run('', async () => this.readCount())
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.writes.run('', async () => level(() => this.db.close()))
  }

  /** Only under the writes lock: a database without the count gets it here, once. */
  private async readCount (): Promise<number> {
    const stored = await level(() => this.db.get(COUNT))
    if (stored !== undefined) return decodeCount(stored)
    let n = 0
    for await (const _ of this.db.keys({ gt: CHUNK, lt: CHUNK + '\xff' })) n++
    await level(() => this.db.put(COUNT, encodeCount(n), { sync: true }))
    return n
  }

  private async readUsed (): Promise<number> {
    const stored = await level(() => this.db.get(USED))
    return stored === undefined ? 0 : decodeCount(stored)
  }
}

function encodeCount (n: number): Uint8Array {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, BigInt(n))
  return out
}

function decodeCount (bytes: Uint8Array): number {
  return Number(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0))
}

async function level<T> (fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err: any) {
    throw new StorageError(`LevelDB failed: ${err?.message}`, { cause: err })
  }
}
