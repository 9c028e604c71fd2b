import { ClosedError, NotFoundError, throwIfAborted } from '../../errors.ts'
import { QuotaExceededError } from '../../domain/protocol/federation-errors.ts'
import type { AbortOptions } from '../../ports/abort-options.ts'
import type { ChunkId } from '../../ports/chunk-store.ts'
import type { Admission, AdmissionRequest, ChunkRecord, MetadataStore } from '../../ports/metadata-store.ts'
import { chargeOf, checkAdmission, checkRecord, checkSubnetShare, recordDueAt } from './record-checks.ts'
import { addCount } from '../../util/counts.ts'

/**
 * A MetadataStore in process memory, for tests and nodes without a disk. Every call
 * runs to completion before the next one starts (nothing awaits in between), which is
 * what makes `admit` a snapshot and each write atomic.
 */
export class MemoryMetadataStore implements MetadataStore {
  // chunk id -> commitment -> record; the sorted views are built when streamed
  private readonly byChunk = new Map<ChunkId, Map<string, ChunkRecord>>()
  private readonly peerBytes = new Map<string, number>()
  private readonly subnetBytes = new Map<string, number>()
  private closed = false

  async admit (request: AdmissionRequest, options?: AbortOptions): Promise<Admission> {
    this.check(options)
    checkAdmission(request)
    const records = this.byChunk.get(request.chunkId)
    const existing = records?.get(request.commitment)
    if (existing !== undefined) return { existing: { ...existing }, chunkHeld: true }
    const held = this.peerBytes.get(request.peer) ?? 0
    if (held + request.size > request.quota) {
      throw new QuotaExceededError(`peer quota of ${request.quota} bytes reached (${held} stored)`)
    }
    if (request.subnet !== undefined) checkSubnetShare(request, this.subnetBytes.get(request.subnet.subnet) ?? 0)
    return { chunkHeld: records !== undefined }
  }

  async putRecord (record: ChunkRecord, options?: AbortOptions): Promise<void> {
    this.check(options)
    checkRecord(record)
    this.remove(record.chunkId, record.commitment)
    const records = this.byChunk.get(record.chunkId) ?? new Map<string, ChunkRecord>()
    records.set(record.commitment, { ...record })
    this.byChunk.set(record.chunkId, records)
    this.addBytes(record, chargeOf(record))
  }

  async getRecord (chunkId: ChunkId, commitment: string, options?: AbortOptions): Promise<ChunkRecord> {
    this.check(options)
    const record = this.byChunk.get(chunkId)?.get(commitment)
    if (record === undefined) throw new NotFoundError(`no record of chunk ${chunkId} under that commitment`)
    return { ...record }
  }

  async deleteRecord (chunkId: ChunkId, commitment: string, options?: AbortOptions): Promise<void> {
    this.check(options)
    this.remove(chunkId, commitment)
  }

  async * recordsForChunk (chunkId: ChunkId, options?: AbortOptions): AsyncIterable<ChunkRecord> {
    this.check(options)
    const records = [...this.byChunk.get(chunkId)?.values() ?? []].sort((a, b) => compare(a.commitment, b.commitment))
    for (const record of records) {
      this.check(options)
      yield { ...record }
    }
  }

  async * recordsForCommitment (commitment: string, options?: AbortOptions & { after?: ChunkId }): AsyncIterable<ChunkRecord> {
    this.check(options)
    const after = options?.after ?? ''
    const ids = [...this.byChunk.keys()].filter((id) => id > after && this.byChunk.get(id)!.has(commitment)).sort(compare)
    for (const id of ids) {
      this.check(options)
      const record = this.byChunk.get(id)?.get(commitment)
      if (record !== undefined) yield { ...record }
    }
  }

  async * recordsDue (before: number, options?: AbortOptions & { limit?: number }): AsyncIterable<ChunkRecord> {
    this.check(options)
    const due = [...this.byChunk.values()].flatMap((records) => [...records.values()])
      .filter((record) => recordDueAt(record) < before)
      .sort((a, b) => recordDueAt(a) - recordDueAt(b) || compare(a.chunkId, b.chunkId) || compare(a.commitment, b.commitment))
      .slice(0, Math.max(0, options?.limit ?? Infinity))
    for (const record of due) {
      this.check(options)
      yield { ...record }
    }
  }

  async bytesStoredBy (peer: string, options?: AbortOptions): Promise<number> {
    this.check(options)
    return this.peerBytes.get(peer) ?? 0
  }

  async bytesStoredFromSubnet (subnet: string, options?: AbortOptions): Promise<number> {
    this.check(options)
    return this.subnetBytes.get(subnet) ?? 0
  }

  async close (): Promise<void> {
    this.closed = true
  }

  private remove (chunkId: ChunkId, commitment: string): void {
    const records = this.byChunk.get(chunkId)
    const previous = records?.get(commitment)
    if (records === undefined || previous === undefined) return
    records.delete(commitment)
    if (records.size === 0) this.byChunk.delete(chunkId)
    this.addBytes(previous, -chargeOf(previous))
  }

  async totalCharged (options?: AbortOptions): Promise<number> {
    this.check(options)
    let total = 0
    for (const bytes of this.peerBytes.values()) total += bytes
    return total
  }

  private addBytes (record: ChunkRecord, delta: number): void {
    addCount(this.peerBytes, record.storedBy, delta)
    if (record.strangerSubnet !== undefined) addCount(this.subnetBytes, record.strangerSubnet, delta)
  }

  private check (options?: AbortOptions): void {
    if (this.closed) throw new ClosedError('the metadata store is closed')
    throwIfAborted(options?.signal)
  }
}

function compare (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
