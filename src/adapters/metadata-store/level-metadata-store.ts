import { Level } from 'level'
import { ClosedError, NotFoundError, StorageError, throwIfAborted } from '../../errors.ts'
import { QuotaExceededError } from '../../domain/protocol/federation-errors.ts'
import type { AbortOptions } from '../../ports/abort-options.ts'
import type { ChunkId } from '../../domain/formats/chunk-id.ts'
import type { Admission, AdmissionRequest, ChunkRecord, MetadataStore } from '../../ports/metadata-store.ts'
import { GroupCommit, type Transaction } from './group-commit.ts'
import { chargeOf, checkAdmission, checkRecord, checkSubnetShare, recordDueAt } from './record-checks.ts'

export interface LevelMetadataStoreInit {
  location: string
}

// r!<chunk>!<commitment> -> record; c!<commitment>!<chunk> -> '' ; p!<peer> -> bytes;
// s!<subnet> -> bytes of strangers' records from that subnet;
// l!<due time, 16 digits>!<chunk>!<commitment> -> '' (the lease sweep's order)
const RECORD = 'r!'
const BY_DUE = 'l!'
/** Set once every record written before leases has its BY_DUE entry. */
const DUE_INDEXED = 'm!due-indexed'
const BY_COMMITMENT = 'c!'
const PEER_BYTES = 'p!'
const SUBNET_BYTES = 's!'
/** Counts kept in memory at most; past it the cache starts again empty (it refills as peers store). */
const MAX_CACHED_COUNTS = 10_000

/**
 * MetadataStore on LevelDB. A change (record, index entry, per-peer byte count) is
 * atomic; concurrent changes share one fsync through group commit. `admit` reads from
 * an explicit LevelDB snapshot, so its three reads agree with each other.
 */
export class LevelMetadataStore implements MetadataStore {
  private readonly db: Level<string, string>
  private readonly writes: GroupCommit
  /** The sum of every peer's count, summed once at open and kept by each committed change. */
  private total: number
  private closed = false

  /**
   * Committed per-peer and per-subnet byte counts (p!, s!), as on disk. Every store asks
   * for its peer's count three to four times (quota, allowance, room left, the change
   * itself): from LevelDB that was the storage node's largest cost per chunk.
   */
  private readonly counts = new Map<string, number>()
  /** Groups committed so far: a count read from disk while one committed may be stale and is not kept. */
  private commits = 0

  private constructor (db: Level<string, string>, total: number) {
    this.db = db
    this.writes = new GroupCommit(db, {
      read: async (key) => isCount(key) ? String(await this.countOf(key)) : this.db.get(key),
      committed: (changes) => {
        this.commits++
        for (const [key, value] of changes) if (isCount(key)) this.counts.set(key, value === null ? 0 : Number(value))
      }
    })
    this.total = total
  }

  static async open (init: LevelMetadataStoreInit): Promise<LevelMetadataStore> {
    const db = new Level<string, string>(init.location, { keyEncoding: 'utf8', valueEncoding: 'utf8' })
    await level(() => db.open())
    let total = 0
    for await (const value of db.values({ gt: PEER_BYTES, lt: PEER_BYTES + '\xff' })) total += Number(value)
    await level(async () => indexRecordsFromBeforeLeases(db))
    return new LevelMetadataStore(db, total)
  }

  async admit (request: AdmissionRequest, options?: AbortOptions): Promise<Admission> {
    this.check(options)
    checkAdmission(request)
    const snapshot = this.db.snapshot()
    try {
      const existing = parseRecord(await level(() => this.db.get(recordKey(request.chunkId, request.commitment), { snapshot })))
      if (existing !== undefined) return { existing, chunkHeld: true }
      const prefix = RECORD + request.chunkId + '!'
      const others = await level(() => this.db.keys({ gt: prefix, lt: prefix + '\xff', limit: 1, snapshot }).all())
      // the committed count, which is never older than the snapshot: at worst it counts a record stored since
      const held = await this.countOf(PEER_BYTES + request.peer)
      if (held + request.size > request.quota) {
        throw new QuotaExceededError(`peer quota of ${request.quota} bytes reached (${held} stored)`)
      }
      if (request.subnet !== undefined) {
        checkSubnetShare(request, await this.countOf(SUBNET_BYTES + request.subnet.subnet))
      }
      return { chunkHeld: others.length > 0 }
    } finally {
      await snapshot.close()
    }
  }

  async putRecord (record: ChunkRecord, options?: AbortOptions): Promise<void> {
    this.check(options)
    checkRecord(record)
    let delta = 0
    await this.writes.run(async (tx) => {
      delta = 0
      const key = recordKey(record.chunkId, record.commitment)
      const previous = parseRecord(await tx.get(key))
      if (previous !== undefined) {
        delta += await addRecordBytes(tx, previous, -chargeOf(previous))
        tx.del(dueKey(previous))
      }
      delta += await addRecordBytes(tx, record, chargeOf(record))
      tx.put(key, JSON.stringify(record))
      tx.put(dueKey(record), '')
      tx.put(BY_COMMITMENT + record.commitment + '!' + record.chunkId, '')
    })
    this.total += delta
  }

  async getRecord (chunkId: ChunkId, commitment: string, options?: AbortOptions): Promise<ChunkRecord> {
    this.check(options)
    const record = await this.readRecord(recordKey(chunkId, commitment))
    if (record === undefined) throw new NotFoundError(`no record of chunk ${chunkId} under that commitment`)
    return record
  }

  async deleteRecord (chunkId: ChunkId, commitment: string, options?: AbortOptions): Promise<void> {
    this.check(options)
    let delta = 0
    await this.writes.run(async (tx) => {
      delta = 0
      const key = recordKey(chunkId, commitment)
      const previous = parseRecord(await tx.get(key))
      if (previous === undefined) return
      delta = await addRecordBytes(tx, previous, -chargeOf(previous))
      tx.del(key)
      tx.del(dueKey(previous))
      tx.del(BY_COMMITMENT + commitment + '!' + chunkId)
    })
    this.total += delta
  }

  async * recordsForChunk (chunkId: ChunkId, options?: AbortOptions): AsyncIterable<ChunkRecord> {
    this.check(options)
    const prefix = RECORD + chunkId + '!'
    for await (const value of this.db.values({ gt: prefix, lt: prefix + '\xff' })) {
      this.check(options)
      yield parseRecord(value)!
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

  async * recordsDue (before: number, options?: AbortOptions & { limit?: number }): AsyncIterable<ChunkRecord> {
    this.check(options)
    let left = options?.limit ?? Infinity
    if (left <= 0) return
    for await (const key of this.db.keys({ gte: BY_DUE, lt: BY_DUE + dueTime(before) })) {
      this.check(options)
      const [, , chunkId, commitment] = key.split('!')
      const record = await this.readRecord(recordKey(chunkId!, commitment!))
      // an entry read before its record changed: the record's own entry comes in its turn
      if (record === undefined || dueKey(record) !== key) continue
      yield record
      if (--left === 0) return
    }
  }

  async bytesStoredBy (peer: string, options?: AbortOptions): Promise<number> {
    this.check(options)
    return this.peerBytes(peer)
  }

  async bytesStoredFromSubnet (subnet: string, options?: AbortOptions): Promise<number> {
    this.check(options)
    return this.countOf(SUBNET_BYTES + subnet)
  }

  async totalCharged (options?: AbortOptions): Promise<number> {
    this.check(options)
    return this.total
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.writes.idle()
    await level(() => this.db.close())
  }

  private async readRecord (key: string): Promise<ChunkRecord | undefined> {
    return parseRecord(await level(() => this.db.get(key)))
  }

  private async peerBytes (peer: string): Promise<number> {
    return this.countOf(PEER_BYTES + peer)
  }

  private async countOf (key: string): Promise<number> {
    const cached = this.counts.get(key)
    if (cached !== undefined) return cached
    const commits = this.commits
    const value = await level(() => this.db.get(key))
    const count = value === undefined ? 0 : Number(value)
    // a group committed meanwhile may have changed it: its own value is the one to keep
    if (commits !== this.commits) return this.counts.get(key) ?? count
    if (this.counts.size >= MAX_CACHED_COUNTS) this.counts.clear()
    this.counts.set(key, count)
    return count
  }

  private check (options?: AbortOptions): void {
    if (this.closed) throw new ClosedError('the metadata store is closed')
    throwIfAborted(options?.signal)
  }
}

/**
 * A stored record. Records written before delete commitments existed (protocol v1)
 * have none: they read with D = C, v1's rule that the read secret deletes, so the
 * owners who stored them can still delete them and no record is dropped or rewritten.
 */
function parseRecord (value: string | undefined): ChunkRecord | undefined {
  if (value === undefined) return undefined
  const record = JSON.parse(value) as Omit<ChunkRecord, 'deleteCommitment'> & { deleteCommitment?: string }
  return { ...record, deleteCommitment: record.deleteCommitment ?? record.commitment }
}

/**
 * Adds `delta` to the record's peer count and, for a stranger's record, its subnet's
 * (never below 0); the change actually made to the peer count, which the total follows.
 */
async function addRecordBytes (tx: Transaction, record: ChunkRecord, delta: number): Promise<number> {
  if (record.strangerSubnet !== undefined) await addBytes(tx, SUBNET_BYTES + record.strangerSubnet, delta)
  return addBytes(tx, PEER_BYTES + record.storedBy, delta)
}

async function addBytes (tx: Transaction, key: string, delta: number): Promise<number> {
  const current = Number(await tx.get(key) ?? 0)
  const next = Math.max(0, current + delta)
  tx.put(key, String(next))
  return next - current
}

function isCount (key: string): boolean {
  return key.startsWith(PEER_BYTES) || key.startsWith(SUBNET_BYTES)
}

function dueTime (time: number): string {
  return String(Math.min(Math.max(0, time), 9_999_999_999_999_999)).padStart(16, '0')
}

function dueKey (record: ChunkRecord): string {
  return BY_DUE + dueTime(recordDueAt(record)) + '!' + record.chunkId + '!' + record.commitment
}

/**
 * Gives every record written before leases its entry in the sweep's order (due at 0:
 * the sweep then leases it from the time it first meets it), once per database.
 */
async function indexRecordsFromBeforeLeases (db: Level<string, string>): Promise<void> {
  if (await db.get(DUE_INDEXED) !== undefined) return
  let batch: Array<{ type: 'put', key: string, value: string }> = []
  for await (const value of db.values({ gt: RECORD, lt: RECORD + '\xff' })) {
    batch.push({ type: 'put', key: dueKey(parseRecord(value)!), value: '' })
    if (batch.length === 1000) {
      await db.batch(batch)
      batch = []
    }
  }
  await db.batch([...batch, { type: 'put', key: DUE_INDEXED, value: '1' }], { sync: true })
}

function recordKey (chunkId: ChunkId, commitment: string): string {
  return RECORD + chunkId + '!' + commitment
}

async function level<T> (fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err: any) {
    throw new StorageError(`LevelDB failed: ${err?.message}`, { cause: err })
  }
}
