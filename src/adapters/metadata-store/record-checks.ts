import { InvalidInputError } from '../../errors.ts'
import { QuotaExceededError } from '../../domain/protocol/federation-errors.ts'
import { isChunkId } from '../../domain/formats/chunk-id.ts'
import type { AdmissionRequest, ChunkRecord } from '../../ports/metadata-store.ts'

const COMMITMENT = /^[0-9]{1,78}$/

/** The checks every MetadataStore adapter makes before a record reaches its medium. */
export function checkRecord (record: ChunkRecord): void {
  checkAdmission({ ...record, peer: record.storedBy, quota: 0 })
  checkCommitment(record.deleteCommitment, 'delete commitment')
  if (record.leaseCommitment !== undefined) checkCommitment(record.leaseCommitment, 'lease commitment')
  if (!Number.isSafeInteger(record.storedAt)) throw new InvalidInputError('record storedAt must be a timestamp')
  if (record.charge !== undefined && (!Number.isSafeInteger(record.charge) || record.charge < 0)) throw new InvalidInputError('record charge must be a non-negative integer')
  if (record.strangerSubnet !== undefined) checkSubnet(record.strangerSubnet)
  for (const time of [record.leaseExpiresAt, record.trashUntil]) {
    if (time !== undefined && (!Number.isSafeInteger(time) || time < 0)) throw new InvalidInputError('record lease and trash times must be timestamps')
  }
}

/**
 * When the lease sweep must next look at a record (MetadataStore.recordsDue): the end
 * of its trash period, else of its lease, else at once.
 */
export function recordDueAt (record: ChunkRecord): number {
  return record.trashUntil ?? record.leaseExpiresAt ?? 0
}

/** What a record counts against its storer's quota: its charge, or its size for records from before charges. */
export function chargeOf (record: ChunkRecord): number {
  return record.charge ?? record.size
}

/** The checks of a store request's key, size and peer, before `admit` reads anything. */
export function checkAdmission (request: AdmissionRequest): void {
  if (!isChunkId(request.chunkId)) throw new InvalidInputError('record has an invalid chunk id')
  checkCommitment(request.commitment, 'commitment')
  if (!Number.isSafeInteger(request.size) || request.size < 0) throw new InvalidInputError('record size must be a non-negative integer')
  // '!' separates the parts of the LevelDB keys
  if (typeof request.peer !== 'string' || request.peer.length === 0 || request.peer.includes('!')) throw new InvalidInputError('record storedBy must be a peer id')
  if (request.subnet !== undefined) {
    checkSubnet(request.subnet.subnet)
    if (!Number.isSafeInteger(request.subnet.quota) || request.subnet.quota < 0) throw new InvalidInputError('subnet quota must be a non-negative integer')
  }
}

function checkSubnet (value: unknown): void {
  // '!' separates the parts of the LevelDB keys
  if (typeof value !== 'string' || value.length === 0 || value.includes('!')) throw new InvalidInputError('record subnet must be a subnet name')
}

function checkCommitment (value: unknown, what: string): void {
  if (typeof value !== 'string' || !COMMITMENT.test(value)) throw new InvalidInputError(`record ${what} must be a decimal field element`)
}

/** Refuses a stranger's record that would take its subnet past the subnet's share. */
export function checkSubnetShare (request: AdmissionRequest, subnetHeld: number): void {
  const share = request.subnet
  if (share !== undefined && subnetHeld + request.size > share.quota) {
    throw new QuotaExceededError(`this network's share of ${share.quota} bytes for strangers is reached (${subnetHeld} stored)`)
  }
}
