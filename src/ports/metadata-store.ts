import type { AbortOptions } from './abort-options.ts'
import type { ChunkId } from '../domain/formats/chunk-id.ts'

/**
 * What a storage node knows about one stored chunk for one owner. The same chunk id
 * can be stored by several owners, each under their own commitment, so records are
 * keyed by (chunkId, commitment).
 */
export interface ChunkRecord {
  chunkId: ChunkId
  /** Read commitment C = Poseidon(s) to the file's data retrieval secret, decimal string. */
  commitment: string
  /**
   * Delete commitment D = Poseidon(d) to the owner's per-file delete secret, decimal
   * string: a delete is proven against D, never against C, so a reader (who knows s)
   * cannot delete. Fixed when the record is first written; storing (chunkId, C) again
   * never changes it.
   */
  deleteCommitment: string
  /**
   * Lease commitment L = Poseidon(l) to the owner-wide lease secret, decimal string
   * (protocol-spec/leases.md, "Lease commitments"): a session proven under L renews the
   * record, never deletes it. Set when the record is created, or by a renewal proven
   * under D; storing (chunkId, C) again never changes it. Absent on records stored
   * without one (by owners or nodes from before lease commitments).
   */
  leaseCommitment?: string
  /** Length in bytes of the owner ciphertext. */
  size: number
  /**
   * Bytes charged against `storedBy`'s quota (domain/protocol/record-charge.ts: whole
   * disk blocks plus the record's keeping). Records written before charges existed have
   * none and are charged their `size`.
   */
  charge?: number
  /** Peer id (base58) of the owner's node that stored it, as authenticated by Noise. */
  storedBy: string
  /** Milliseconds since the epoch. */
  storedAt: number
  /**
   * The public subnet (domain/membership/subnet.ts) a stranger stored it from: strangers
   * of one subnet share one cap, so one host's many free identities take one share.
   * Absent for trusted and reciprocal storers and for non-public addresses.
   */
  strangerSubnet?: string
  /**
   * Milliseconds since the epoch when the record's lease ends unless its owner renews it
   * (protocol-spec/leases.md). Absent on records written before leases existed: the
   * node's sweep gives them a lease from the time it first meets them, so an upgrade
   * collects nothing at once.
   */
  leaseExpiresAt?: number
  /**
   * Set when the lease ran out unrenewed: the record is in the trash, still served and
   * still renewable, and is collected at this time. A renewal clears it.
   */
  trashUntil?: number
}

/** A subnet's share as `admit` weighs it. */
export interface SubnetAdmission {
  /** The subnet the request comes from, as recorded in `strangerSubnet`. */
  subnet: string
  /** Bytes the subnet's records may be charged together once this one is added. */
  quota: number
}

/** A store request as `admit` weighs it. */
export interface AdmissionRequest {
  chunkId: ChunkId
  commitment: string
  /** The peer asking, whose bytes count against `quota`. */
  peer: string
  /** Bytes the record would charge `peer` (its `charge`). */
  size: number
  /** Bytes `peer` may hold once this record is added. */
  quota: number
  /** The subnet's share, for a stranger's request from a public address. */
  subnet?: SubnetAdmission
}

/** What a store request meets, all read from one snapshot. */
export interface Admission {
  /** The record already held for (chunkId, commitment): storing it again changes nothing. */
  existing?: ChunkRecord
  /**
   * Whether any record, under any commitment, holds the chunk. Callers keep bytes for as
   * long as a record needs them and write bytes before records, so `false` means the
   * bytes still have to be written; `true` that they were, unless the medium lost them.
   */
  chunkHeld: boolean
}

/**
 * MetadataStore: the storage node's index of chunk records.
 *
 * Contract, tested for every adapter by test/conformance/metadata-store.suite.ts:
 * - `admit` reads, in one consistent snapshot, the record of (chunkId, commitment),
 *   whether any record holds the chunk, and the bytes `peer` holds; when there is no
 *   record yet and those bytes plus `size` exceed `quota`, it rejects with
 *   QuotaExceededError; likewise when `subnet` is given and the charges of the records
 *   whose `strangerSubnet` is that subnet, plus `size`, exceed its quota. It writes nothing: the caller writes the record with `putRecord`
 *   once the chunk's bytes are durable, and keeps admissions of one peer that are in
 *   flight together from overspending the quota (StorageService reserves them).
 * - `putRecord` is atomic and idempotent for the same (chunkId, commitment): the later
 *   record replaces the earlier. It resolves only when the record, its index entries
 *   and the per-peer byte count are durable (on disk for durable adapters); concurrent
 *   writes may share one sync. A write that rejects leaves nothing behind.
 * - `getRecord` rejects with NotFoundError when absent.
 * - `recordsForChunk` and `recordsForCommitment` stream matching records in key order.
 * - `deleteRecord` is idempotent and durable when it resolves, as `putRecord`.
 * - `bytesStoredBy(peer)` is the sum of the charges (`charge`, else `size`) over that
 *   peer's records (quota input); `bytesStoredFromSubnet(subnet)` the same over the
 *   records whose `strangerSubnet` is `subnet`.
 * - `recordsDue(before, { limit })` streams, at most `limit`, the records due
 *   before `before`, earliest first (ties in key order). A record is due at its `trashUntil`, else its
 *   `leaseExpiresAt`, else at 0 (a record from before leases still needs a lease): the lease
 *   sweep's work list, so one round reads only what it will act on.
 * - Malformed records (chunk id failing `isChunkId`, a commitment, delete commitment or
 *   lease commitment that is not a decimal field element, a negative or fractional size, an empty peer,
 *   an empty subnet or one holding `!`, a lease or trash time that is not a timestamp)
 *   reject with InvalidInputError and write nothing.
 * - Every record read has a `deleteCommitment`: a durable adapter holding records
 *   written before delete commitments existed reads them with `deleteCommitment =
 *   commitment` (protocol v1's rule: the read secret deletes), so no record is dropped.
 * - Methods check their AbortSignal first and reject with AbortError without any
 *   effect; after `close` they reject with ClosedError. `close` is idempotent and waits
 *   for writes in flight.
 */
export interface MetadataStore {
  admit (request: AdmissionRequest, options?: AbortOptions): Promise<Admission>
  putRecord (record: ChunkRecord, options?: AbortOptions): Promise<void>
  getRecord (chunkId: ChunkId, commitment: string, options?: AbortOptions): Promise<ChunkRecord>
  deleteRecord (chunkId: ChunkId, commitment: string, options?: AbortOptions): Promise<void>
  recordsForChunk (chunkId: ChunkId, options?: AbortOptions): AsyncIterable<ChunkRecord>
  /** Records under `commitment` in chunk id order, those after `after` when given. */
  recordsForCommitment (commitment: string, options?: AbortOptions & { after?: ChunkId }): AsyncIterable<ChunkRecord>
  /** Records due for the lease sweep before `before` (see the contract above). */
  recordsDue (before: number, options?: AbortOptions & { limit?: number }): AsyncIterable<ChunkRecord>
  bytesStoredBy (peer: string, options?: AbortOptions): Promise<number>
  bytesStoredFromSubnet (subnet: string, options?: AbortOptions): Promise<number>
  /** The sum of `bytesStoredBy` over every peer: what all records here are charged together. */
  totalCharged (options?: AbortOptions): Promise<number>
  close (): Promise<void>
}
