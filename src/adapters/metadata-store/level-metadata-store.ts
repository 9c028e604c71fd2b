import { Level } from 'level'
import { ClosedError, InvalidInputError, NotFoundError, StorageError, throwIfAborted } from '../../errors.ts'
import type { AbortOptions } from '../../ports/abort-options.ts'
import { isChunkId, type ChunkId } from '../../ports/chunk-store.ts'
import type { ChunkRecord, MetadataStore } from '../../ports/metadata-store.ts'
import { KeyedMutex } from '../../util/keyed-mutex.ts'

export interface LevelMetadataStoreInit {
  location: string
}

// r!<chunk>!<commitment> -> record; c!<commitment>!<chunk> -> '' ; p!<peer> -> bytes
const RECORD = 'r!'
const BY_COMMITMENT = 'c!'
const PEER_BYTES = 'p!'
const COMMITMENT = /^[0-9]{1,78}$/

/** MetadataStore on LevelDB: each change is one atomic batch of record, index and quota. */
export class LevelMetadataStore implements MetadataStore {
  private readonly db: Level<string, string>
  private readonly writes = new KeyedMutex()
  private closed = false

  private constructor (db: Level<string, string>) {
    this.db = db
  }

  static async open (init: LevelMetadataStoreInit): Promise<LevelMetadataStore> {
    const db = new Level<string, string>(init.location, { keyEncoding: 'utf8', valueEncoding: 'utf8' })
    await level(() => db.open())
    return new LevelMetadataStore(db)
  }

  async putRecord (record: ChunkRecord, options?: AbortOptions): Promise<void> {
    this.check(options)
    checkRecord(record)
    await this.writes.run('', async () => {
      this.check(options)
      const key = recordKey(record.chunkId, record.commitment)
      const previous = await this.readRecord(key)
      const deltas = new Map<string, number>([[record.storedBy, record.size]])
      if (previous !== undefined) deltas.set(previous.storedBy, (deltas.get(previous.storedBy) ?? 0) - previous.size)
      await level(async () => this.db.batch([
        ...await this.quotaOps(deltas),
        { type: 'put', key, value: JSON.stringify(record) },
        { type: 'put', key: BY_COMMITMENT + record.commitment + '!' + record.chunkId, value: '' }
      ], { sync: true }))
    })
  }

  async getRecord (chunkId: ChunkId, commitment: string, options?: AbortOptions): Promise<ChunkRecord> {
    this.check(options)
    const record = await this.readRecord(recordKey(chunkId, commitment))
    if (record === undefined) throw new NotFoundError(`no record of chunk ${chunkId} under that commitment`)
    return record
  }

  async deleteRecord (chunkId: ChunkId, commitment: string, options?: AbortOptions): Promise<void> {
    this.check(options)
    await this.writes.run('', async () => {
      const key = recordKey(chunkId, commitment)
      const previous = await this.readRecord(key)
      if (previous === undefined) return
      await level(async () => this.db.batch([
        ...await this.quotaOps(new Map([[previous.storedBy, -previous.size]])),
        { type: 'del', key },
        { type: 'del', key: BY_COMMITMENT + commitment + '!' + chunkId }
      ], { sync: true }))
    })
  }

  async * recordsForChunk (chunkId: ChunkId, options?: AbortOptions): AsyncIterable<ChunkRecord> {
    this.check(options)
    const prefix = RECORD + chunkId + '!'
    for await (const value of this.db.values({ gt: prefix, lt: prefix + '\xff' })) {
      this.check(options)
      yield JSON.parse(value) as ChunkRecord
    }
  }

  async * recordsForCommitment (commitment: string, options?: AbortOptions & { after?: ChunkId }): AsyncIterable<ChunkRecord> {
    this.check(options)
    const prefix = BY_COMMITMENT + commitment + '!'
    for await (const key of this.db.keys({ gt: prefix + (options?.after ?? ''), lt: prefix + '\xff' })) {
      this.check(options)
      const record = await this.readRecord(recordKey(key.slice(prefix.length), commitment))
      if (record !== undefined) yield record
    }
  }

  async bytesStoredBy (peer: string, options?: AbortOptions): Promise<number> {
    this.check(options)
    return this.peerBytes(peer)
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.writes.run('', async () => level(() => this.db.close()))
  }

  private async quotaOps (deltas: Map<string, number>): Promise<Array<{ type: 'put', key: string, value: string }>> {
    const ops: Array<{ type: 'put', key: string, value: string }> = []
    for (const [peer, delta] of deltas) {
      ops.push({ type: 'put', key: PEER_BYTES + peer, value: String(Math.max(0, await this.peerBytes(peer) + delta)) })
    }
    return ops
  }

  private async readRecord (key: string): Promise<ChunkRecord | undefined> {
    const value = await level(() => this.db.get(key))
    return value === undefined ? undefined : JSON.parse(value) as ChunkRecord
  }

  private async peerBytes (peer: string): Promise<number> {
    const value = await level(() => this.db.get(PEER_BYTES + peer))
    return value === undefined ? 0 : Number(value)
  }

  private check (options?: AbortOptions): void {
    if (this.closed) throw new ClosedError('the metadata store is closed')
    throwIfAborted(options?.signal)
  }
}

function recordKey (chunkId: ChunkId, commitment: string): string {
  return RECORD + chunkId + '!' + commitment
}

function checkRecord (record: ChunkRecord): void {
  if (!isChunkId(record.chunkId)) throw new InvalidInputError('record has an invalid chunk id')
  if (!COMMITMENT.test(record.commitment)) throw new InvalidInputError('record commitment must be a decimal field element')
  if (!Number.isSafeInteger(record.size) || record.size < 0) throw new InvalidInputError('record size must be a non-negative integer')
  if (typeof record.storedBy !== 'string' || record.storedBy.length === 0 || record.storedBy.includes('!')) throw new InvalidInputError('record storedBy must be a peer id')
  if (!Number.isSafeInteger(record.storedAt)) throw new InvalidInputError('record storedAt must be a timestamp')
}

async function level<T> (fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err: any) {
    throw new StorageError(`LevelDB failed: ${err?.message}`, { cause: err })
  }
}
