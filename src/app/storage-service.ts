import { NotFoundError, TooLargeError } from '../errors.ts'
import { chunkIdOf, isChunkId, parseChunkId, type ChunkId } from '../domain/formats/chunk-id.ts'
import { commitmentFromDecimal } from '../domain/proofs/poseidon-commitment.ts'
import type { AbortOptions } from '../ports/abort-options.ts'
import type { ChunkStore } from '../ports/chunk-store.ts'
import type { ChunkRecord, MetadataStore } from '../ports/metadata-store.ts'
import { recordCharge } from '../domain/protocol/record-charge.ts'
import { KeyedMutex } from '../util/keyed-mutex.ts'
import { addCount } from '../util/counts.ts'
import { CapacityFullError, ChunkIdMismatchError } from '../domain/protocol/federation-errors.ts'

export interface StorageServiceInit {
  /** Already wrapped in this node's at-rest encryption (src/assembly/wrap-chunk-store.ts). */
  chunkStore: ChunkStore
  metadata: MetadataStore
  /** Bytes this node offers to the federation. */
  capacity: number
  /**
   * Bytes `peer` may hold here once its next record is added (src/app/admission/allowances.ts):
   * what it stores now and in flight is counted against it here.
   */
  allowanceOf: (peer: string, options?: AbortOptions) => Promise<number>
  /**
   * Bytes the strangers of `subnet` may hold here together, when `peer` is a stranger
   * (Allowances.subnetShareOf); undefined when the peer's subnet is not capped.
   */
  subnetShareOf?: (peer: string, subnet: string) => number | undefined
  maxChunkBytes: number
  /** Leases of stored records (protocol-spec/leases.md); DEFAULT_LEASES when absent. */
  leases?: LeaseTimes
  now?: () => number
}

/** How long a record lives unrenewed, then how long it waits in the trash. */
export interface LeaseTimes {
  durationMs: number
  trashMs: number
}

/** What one lease sweep did. */
export interface LeaseSweep {
  /** Records from before leases, leased from now. */
  leased: number
  /** Records whose lease ran out, now in the trash. */
  trashed: number
  /** Records collected after their trash period, and the charge given back with them. */
  collected: number
  charge: number
  /** Whether records were left due for the next round (the round's limit was reached). */
  more: boolean
}

export const DEFAULT_LEASES: LeaseTimes = { durationMs: 30 * 24 * 3_600_000, trashMs: 7 * 24 * 3_600_000 }

export interface StoreChunk {
  chunkId: string
  /** Read commitment C: reads are proven against it. */
  commitment: string
  /** Delete commitment D: deletes are proven against it. */
  deleteCommitment: string
  /** Lease commitment L of the owner: renewals may be proven against it (protocol-spec/leases.md). */
  leaseCommitment?: string
  data: Uint8Array
  /** The requester's peer id as authenticated by the connection. */
  from: string
  /** The public subnet of the requester's connection (domain/membership/subnet.ts), if it has one. */
  subnet?: string
}

/** The record a store left in place: what the node's receipt states. */
export interface StoredRecord {
  storedAt: number
  commitment: string
  deleteCommitment: string
}

/**
 * What a storage node does with other people's chunks, independent of the wire:
 * validate, enforce quota and capacity, keep bytes and records consistent.
 *
 * The same chunk id may be stored by several owners under different commitments: the
 * bytes are kept once, each owner gets a record, and the bytes go only with the last
 * record. A record is read under its commitment C and deleted under its delete
 * commitment D. Operations on one chunk id are serialised.
 */
export class StorageService {
  private readonly init: StorageServiceInit
  private readonly chunkLocks = new KeyedMutex()
  private readonly pendingByPeer = new Map<string, number>()
  private readonly pendingBySubnet = new Map<string, number>()
  private pendingQuotaTotal = 0
  private pendingTotal = 0
  private readonly now: () => number
  private readonly leases: LeaseTimes
  private readonly swept = { leased: 0, trashed: 0, collected: 0, charge: 0 }

  constructor (init: StorageServiceInit) {
    this.init = init
    this.now = init.now ?? Date.now
    this.leases = init.leases ?? DEFAULT_LEASES
  }

  /**
   * Stores a chunk for `from`; idempotent for the same (chunk, commitment). Resolves to
   * the record once the bytes and the record are durable (the ports' contracts), so the
   * caller may sign its receipt then.
   *
   * An existing (chunk, C) keeps its D whatever D the request names: C is known to
   * every reader of the file, and letting a store rebind D would let a reader make the
   * record deletable by a secret of its own (or undeletable by the owner). The record
   * returned then names the old D, and the requester's client refuses the receipt.
   *
   * The id is not parsed: the hash of the data is computed anyway, and an id equal to
   * the canonical id of the data is valid by construction. It is parsed only to tell a
   * malformed id from a mismatched one. The chunk's lock is the only one taken; the
   * record, the chunk's other records and the peer's bytes are read in one `admit`.
   */
  async store (request: StoreChunk, options?: AbortOptions): Promise<StoredRecord> {
    return (await this.admitAndStore(request, options)).record
  }

  /**
   * `store`, and the room the requester has left after it (roomFor), weighed with the
   * allowance admission already read: the store protocol answers every chunk with it, and
   * reading the allowance a second time per chunk doubled admission's reads.
   */
  async storeWeighed (request: StoreChunk, options?: AbortOptions): Promise<{ record: StoredRecord, roomLeft: number }> {
    const { record, allowance } = await this.admitAndStore(request, options)
    return { record, roomLeft: await this.roomWith(request.from, request.subnet, allowance, options) }
  }

  private async admitAndStore (request: StoreChunk, options?: AbortOptions): Promise<{ record: StoredRecord, allowance: number }> {
    const { chunkId, commitment, deleteCommitment, leaseCommitment, data, from, subnet } = request
    // the cheap shape check first, as before: a malformed id is refused before anything is hashed
    if (!isChunkId(chunkId)) parseChunkId(chunkId)
    commitmentFromDecimal(commitment)
    commitmentFromDecimal(deleteCommitment)
    if (leaseCommitment !== undefined) commitmentFromDecimal(leaseCommitment)
    const size = data.byteLength
    if (size > this.init.maxChunkBytes) throw new TooLargeError(`chunk of ${size} bytes exceeds ${this.init.maxChunkBytes}`)
    if (chunkIdOf(data) !== chunkId) {
      parseChunkId(chunkId)
      throw new ChunkIdMismatchError(`chunk id ${chunkId} is not the hash of the data sent`)
    }

    return this.chunkLocks.run(chunkId, async () => {
      // held before the first await, so that admissions of this peer running meanwhile count it
      const pending = this.pendingByPeer.get(from) ?? 0
      // whole disk blocks and the record's keeping: tiny and empty records are not free
      const charge = recordCharge(size)
      // one host's many free identities share one subnet's share
      const subnetShare = subnet === undefined ? undefined : this.init.subnetShareOf?.(from, subnet)
      const strangerSubnet = subnetShare === undefined ? undefined : subnet
      const subnetPending = strangerSubnet === undefined ? 0 : this.pendingBySubnet.get(strangerSubnet) ?? 0
      let quotaBytes = this.holdQuota(from, strangerSubnet, charge)
      let capacityBytes = 0
      try {
        const allowance = await this.init.allowanceOf(from, options)
        const quota = allowance - pending
        const share = strangerSubnet === undefined ? undefined : { subnet: strangerSubnet, quota: Math.max(0, subnetShare! - subnetPending) }
        const { existing, chunkHeld } = await this.init.metadata.admit({ chunkId, commitment, peer: from, size: charge, quota, ...(share === undefined ? {} : { subnet: share }) }, options)
        // a record means the bytes were written; ask the medium only then, to heal a lost value
        const present = chunkHeld && await this.init.chunkStore.has(chunkId, options)
        if (existing !== undefined) {
          // storing a record again charges the peer nothing
          this.holdQuota(from, strangerSubnet, -quotaBytes)
          quotaBytes = 0
        }
        if (existing !== undefined && present) return { record: recordOf(existing), allowance }

        capacityBytes = await this.holdCapacity(present ? 0 : charge, options)
        if (!present) await this.init.chunkStore.put(chunkId, data, options)
        // bytes lost under a record are restored for the record's owner, who was charged
        // for them, and keep its delete commitment
        const record: ChunkRecord = existing === undefined
          ? {
              chunkId, commitment, deleteCommitment, size, charge, storedBy: from, storedAt: this.now(), leaseExpiresAt: this.now() + this.leases.durationMs,
              ...(leaseCommitment === undefined ? {} : { leaseCommitment }), ...(strangerSubnet === undefined ? {} : { strangerSubnet })
            }
          : { ...existing, size, storedAt: this.now() }
        await this.init.metadata.putRecord(record, options)
        return { record: recordOf(record), allowance }
      } finally {
        this.holdQuota(from, strangerSubnet, -quotaBytes)
        this.pendingTotal -= capacityBytes
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

  /**
   * Removes every record of the chunk whose delete commitment is `deleteCommitment`
   * (NotFoundError when none); the bytes go when no other record needs them. Resolves
   * to the removed record (the first in commitment order, when several shared D), which
   * the DELETED receipt names.
   */
  async remove (chunkId: ChunkId, deleteCommitment: string, options?: AbortOptions): Promise<{ removed: StoredRecord, bytesRemoved: boolean }> {
    parseChunkId(chunkId)
    commitmentFromDecimal(deleteCommitment)
    return this.chunkLocks.run(chunkId, async () => {
      const records = await this.recordsOf(chunkId, options)
      const doomed = records.filter((record) => record.deleteCommitment === deleteCommitment)
      if (doomed.length === 0) throw new NotFoundError(`no record of chunk ${chunkId} under that delete commitment`)
      return { removed: recordOf(doomed[0]!), bytesRemoved: await this.drop(chunkId, doomed, records.length, options) }
    })
  }

  /** Deletes `doomed`, records of `chunkId` out of `held`, and the bytes with the last; whether the bytes went. Under the chunk's lock. */
  private async drop (chunkId: ChunkId, doomed: readonly ChunkRecord[], held: number, options?: AbortOptions): Promise<boolean> {
    for (const record of doomed) await this.init.metadata.deleteRecord(chunkId, record.commitment, options)
    if (doomed.length < held) return false
    await this.init.chunkStore.delete(chunkId, options)
    return true
  }

  /**
   * Renews the leases of the records of `chunkIds` whose delete commitment or lease
   * commitment is `commitment` (protocol-spec/leases.md): each then lives `durationMs`
   * from now, or longer if it already did, and leaves the trash. The caller's session is
   * proven under `commitment`: only who could end a record, or holds the owner's lease
   * secret, may keep it. With `lease`, the records renewed under their D get it as
   * their lease commitment: only who could end a record may say who keeps it. Resolves
   * to the new expiry and the ids no such record holds, in the order given.
   */
  async renew (chunkIds: readonly ChunkId[], commitment: string, options?: AbortOptions & { lease?: string }): Promise<{ expiresAt: number, missing: ChunkId[] }> {
    for (const chunkId of chunkIds) parseChunkId(chunkId)
    commitmentFromDecimal(commitment)
    const lease = options?.lease
    if (lease !== undefined) commitmentFromDecimal(lease)
    const expiresAt = this.now() + this.leases.durationMs
    // chunks apart at once: their writes share the metadata store's syncs
    const renewed = await Promise.all(chunkIds.map(async (chunkId) => this.chunkLocks.run(chunkId, async () => {
      let found = false
      for (const record of await this.recordsOf(chunkId, options)) {
        const underD = record.deleteCommitment === commitment
        if (!underD && record.leaseCommitment !== commitment) continue
        found = true
        const { trashUntil: _trash, ...kept } = record
        await this.init.metadata.putRecord({
          ...kept, leaseExpiresAt: Math.max(expiresAt, record.leaseExpiresAt ?? 0), ...(underD && lease !== undefined ? { leaseCommitment: lease } : {})
        }, options)
      }
      return found
    })))
    return { expiresAt, missing: chunkIds.filter((_, i) => !renewed[i]) }
  }

  /**
   * One round of the lease sweep, at most `limit` records: a record from before leases
   * gets one from now; a record whose lease ran out goes to the trash for `trashMs`
   * (still served, still renewable); a record whose trash period is over is deleted,
   * its bytes with the last record of the chunk, and its charge given back. Each record
   * is weighed again under its chunk's lock, so a renewal meanwhile wins.
   */
  async sweepLeases (limit: number, options?: AbortOptions): Promise<LeaseSweep> {
    const now = this.now()
    const result: LeaseSweep = { leased: 0, trashed: 0, collected: 0, charge: 0, more: false }
    const due: ChunkRecord[] = []
    for await (const record of this.init.metadata.recordsDue(now, { ...options, limit: limit + 1 })) due.push(record)
    result.more = due.length > limit
    for (const stale of due.slice(0, limit)) {
      await this.chunkLocks.run(stale.chunkId, async () => {
        const records = await this.recordsOf(stale.chunkId, options)
        const record = records.find((r) => r.commitment === stale.commitment)
        if (record === undefined || (record.trashUntil ?? record.leaseExpiresAt ?? 0) >= now) return
        if (record.leaseExpiresAt === undefined) {
          await this.init.metadata.putRecord({ ...record, leaseExpiresAt: now + this.leases.durationMs }, options)
          result.leased++
        } else if (record.trashUntil === undefined) {
          await this.init.metadata.putRecord({ ...record, trashUntil: now + this.leases.trashMs }, options)
          result.trashed++
        } else {
          await this.drop(stale.chunkId, [record], records.length, options)
          result.collected++
          result.charge += record.charge ?? record.size
        }
      })
    }
    this.swept.leased += result.leased
    this.swept.trashed += result.trashed
    this.swept.collected += result.collected
    this.swept.charge += result.charge
    return result
  }

  /** What the lease sweeps did since start (the daemon's /metrics). */
  leaseCounts (): Readonly<{ leased: number, trashed: number, collected: number, charge: number }> {
    return { ...this.swept }
  }

  private async recordsOf (chunkId: ChunkId, options?: AbortOptions): Promise<ChunkRecord[]> {
    const records: ChunkRecord[] = []
    for await (const record of this.init.metadata.recordsForChunk(chunkId, options)) records.push(record)
    return records
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

  /**
   * Bytes `peer` could still store here, in record charges (protocol-spec/store.md,
   * "Room left"): the least of its allowance less what it holds and has in flight, its
   * subnet's share for a stranger, and the offered capacity not yet used. Informative:
   * other peers' stores may take it first.
   */
  async roomFor (peer: string, subnet?: string, options?: AbortOptions): Promise<number> {
    return this.roomWith(peer, subnet, await this.init.allowanceOf(peer, options), options)
  }

  private async roomWith (peer: string, subnet: string | undefined, allowance: number, options?: AbortOptions): Promise<number> {
    const [held, used] = await Promise.all([this.init.metadata.bytesStoredBy(peer, options), this.init.chunkStore.usedBytes(options)])
    let room = Math.min(allowance - held - this.inFlight(peer), this.init.capacity - used - this.pendingTotal)
    const share = subnet === undefined ? undefined : this.init.subnetShareOf?.(peer, subnet)
    if (subnet !== undefined && share !== undefined) {
      const subnetHeld = await this.init.metadata.bytesStoredFromSubnet(subnet, options)
      room = Math.min(room, share - subnetHeld - (this.pendingBySubnet.get(subnet) ?? 0))
    }
    return Math.max(0, room)
  }

  /**
   * Bytes of stores in flight, not yet in any count: of `peer`, or of every peer. Lets
   * admission see what a crowd of peers storing at once is about to take.
   */
  inFlight (peer?: string): number {
    return peer === undefined ? this.pendingQuotaTotal : this.pendingByPeer.get(peer) ?? 0
  }

  /** Adds `bytes` (negative to release) to the peer's (and its capped subnet's) quota held by stores in flight; returns `bytes`. */
  private holdQuota (peer: string, subnet: string | undefined, bytes: number): number {
    this.pendingQuotaTotal += bytes
    addCount(this.pendingByPeer, peer, bytes)
    if (subnet !== undefined) addCount(this.pendingBySubnet, subnet, bytes)
    return bytes
  }

  /** Holds `bytes` of this node's capacity for a store in flight, or refuses with CapacityFullError. */
  private async holdCapacity (bytes: number, options?: AbortOptions): Promise<number> {
    const used = await this.init.chunkStore.usedBytes(options)
    if (used + this.pendingTotal + bytes > this.init.capacity) {
      throw new CapacityFullError(`this node's offered capacity of ${this.init.capacity} bytes is full`)
    }
    this.pendingTotal += bytes
    return bytes
  }
}

function recordOf (record: ChunkRecord): StoredRecord {
  return { storedAt: record.storedAt, commitment: record.commitment, deleteCommitment: record.deleteCommitment }
}
