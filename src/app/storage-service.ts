import { NotFoundError, TooLargeError } from '../errors.ts'
import { chunkIdMatches, parseChunkId } from '../domain/formats/chunk-id.ts'
import { commitmentFromDecimal } from '../domain/proofs/poseidon-commitment.ts'
import type { AbortOptions } from '../ports/abort-options.ts'
import type { ChunkId, ChunkStore } from '../ports/chunk-store.ts'
import type { MetadataStore } from '../ports/metadata-store.ts'
import { KeyedMutex } from '../util/keyed-mutex.ts'
import { CapacityFullError, ChunkIdMismatchError, QuotaExceededError } from '../domain/protocol/federation-errors.ts'

export interface StorageServiceInit {
  /** Already wrapped in this node's at-rest encryption by the composition root. */
  chunkStore: ChunkStore
  metadata: MetadataStore
  /** Bytes this node offers to the federation. */
  capacity: number
  /** Bytes any one peer may store here. */
  peerQuota: number
  maxChunkBytes: number
  now?: () => number
}

export interface StoreChunk {
  chunkId: string
  commitment: string
  data: Uint8Array
  /** The requester's peer id as authenticated by the connection. */
  from: string
}

/**
 * What a storage node does with other people's chunks, independent of the wire:
 * validate, enforce quota and capacity, keep bytes and records consistent.
 *
 * The same chunk id may be stored by several owners under different commitments: the
 * bytes are kept once, each owner gets a record, and the bytes go only with the last
 * record. Operations on one chunk id are serialised.
 */
export class StorageService {
  private readonly init: StorageServiceInit
  private readonly chunkLocks = new KeyedMutex()
  private readonly pendingByPeer = new Map<string, number>()
  private pendingTotal = 0
  private readonly now: () => number

  constructor (init: StorageServiceInit) {
    this.init = init
    this.now = init.now ?? Date.now
  }

  /** Stores a chunk for `from`; idempotent for the same (chunk, commitment). Resolves to the record time. */
  async store (request: StoreChunk, options?: AbortOptions): Promise<number> {
    const chunkId = parseChunkId(request.chunkId)
    commitmentFromDecimal(request.commitment)
    const size = request.data.byteLength
    if (size > this.init.maxChunkBytes) throw new TooLargeError(`chunk of ${size} bytes exceeds ${this.init.maxChunkBytes}`)
    if (!chunkIdMatches(chunkId, request.data)) throw new ChunkIdMismatchError(`chunk id ${chunkId} is not the hash of the data sent`)

    return this.chunkLocks.run(chunkId, async () => {
      const existing = await this.init.metadata.getRecord(chunkId, request.commitment, options).catch(notFoundAsUndefined)
      const present = await this.init.chunkStore.has(chunkId, options)
      if (existing !== undefined && present) return existing.storedAt

      await this.reserve(request.from, existing === undefined ? size : 0, present ? 0 : size, options)
      try {
        if (!present) await this.init.chunkStore.put(chunkId, request.data, options)
        const storedAt = this.now()
        await this.init.metadata.putRecord({ chunkId, commitment: request.commitment, size, storedBy: request.from, storedAt }, options)
        return storedAt
      } finally {
        this.release(request.from, existing === undefined ? size : 0, present ? 0 : size)
      }
    })
  }

  /** The stored bytes of a chunk, only if it is held under `commitment`. */
  async read (chunkId: ChunkId, commitment: string, options?: AbortOptions): Promise<Uint8Array> {
    await this.init.metadata.getRecord(parseChunkId(chunkId), commitment, options)
    return this.init.chunkStore.get(chunkId, options)
  }

  /** Up to `limit` chunk ids held under `commitment`, ascending, after `after`. */
  async list (commitment: string, after: string, limit: number, options?: AbortOptions): Promise<{ chunkIds: ChunkId[], more: boolean }> {
    const chunkIds: ChunkId[] = []
    for await (const record of this.init.metadata.recordsForCommitment(commitment, { ...options, after: after === '' ? undefined : after })) {
      if (chunkIds.length === limit) return { chunkIds, more: true }
      chunkIds.push(record.chunkId)
    }
    return { chunkIds, more: false }
  }

  /** Removes the commitment's record; the bytes go when no other record needs them. */
  async remove (chunkId: ChunkId, commitment: string, options?: AbortOptions): Promise<{ bytesRemoved: boolean }> {
    parseChunkId(chunkId)
    return this.chunkLocks.run(chunkId, async () => {
      await this.init.metadata.getRecord(chunkId, commitment, options)
      await this.init.metadata.deleteRecord(chunkId, commitment, options)
      for await (const _other of this.init.metadata.recordsForChunk(chunkId, options)) return { bytesRemoved: false }
      await this.init.chunkStore.delete(chunkId, options)
      return { bytesRemoved: true }
    })
  }

  /**
   * Deletes chunk bytes that no record needs: what a crash between writing a chunk and
   * its record, or between removing the last record and the bytes, leaves behind.
   * Safe while the node serves: each chunk is checked under its lock. Resolves to the
   * number removed.
   */
  async collectOrphans (options?: AbortOptions): Promise<number> {
    let removed = 0
    for await (const chunkId of this.init.chunkStore.ids(options)) {
      removed += await this.chunkLocks.run(chunkId, async () => {
        for await (const _record of this.init.metadata.recordsForChunk(chunkId, options)) return 0
        await this.init.chunkStore.delete(chunkId, options)
        return 1
      })
    }
    return removed
  }

  private async reserve (peer: string, quotaBytes: number, capacityBytes: number, options?: AbortOptions): Promise<void> {
    const stored = await this.init.metadata.bytesStoredBy(peer, options)
    const pending = this.pendingByPeer.get(peer) ?? 0
    if (stored + pending + quotaBytes > this.init.peerQuota) {
      throw new QuotaExceededError(`peer quota of ${this.init.peerQuota} bytes reached (${stored + pending} stored)`)
    }
    const used = await this.init.chunkStore.usedBytes(options)
    if (used + this.pendingTotal + capacityBytes > this.init.capacity) {
      throw new CapacityFullError(`this node's offered capacity of ${this.init.capacity} bytes is full`)
    }
    this.pendingByPeer.set(peer, pending + quotaBytes)
    this.pendingTotal += capacityBytes
  }

  private release (peer: string, quotaBytes: number, capacityBytes: number): void {
    const left = (this.pendingByPeer.get(peer) ?? 0) - quotaBytes
    if (left <= 0) this.pendingByPeer.delete(peer)
    else this.pendingByPeer.set(peer, left)
    this.pendingTotal -= capacityBytes
  }
}

/** A missing record is an answer; any other failure (the disk, the database) is not. */
function notFoundAsUndefined (err: unknown): undefined {
  if (err instanceof NotFoundError) return undefined
  throw err
}
