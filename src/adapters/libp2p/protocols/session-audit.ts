import { createHash } from 'node:crypto'
import { inclusionPath, leafCount, leafOf, merkleLevels, type Sha256 } from '../../../domain/crypto/merkle-tree.ts'
import { MalformedMessageError, ProtocolError } from '../../../domain/protocol/federation-errors.ts'
import type { AuditProofMessage } from '../wire/messages.ts'

/**
 * The audit request of `/quloud/retrieve/2.0.0` (protocol-spec/audits-and-repair.md):
 * leaves of one held chunk with their Merkle inclusion paths. The node hashes the
 * whole chunk for each audit, so its answer always comes from the bytes it holds.
 */

/** Leaves one audit request may name: 16 leaves and paths are ~70 KB, well inside a data frame. */
export const MAX_AUDIT_LEAVES = 16

const sha256: Sha256 = (data) => createHash('sha256').update(data).digest()

/** `leaves` when 1..MAX_AUDIT_LEAVES distinct whole numbers; MalformedMessageError otherwise. */
export function checkAuditLeaves (leaves: readonly number[]): number[] {
  if (leaves.length === 0 || leaves.length > MAX_AUDIT_LEAVES) throw new MalformedMessageError(`an audit names 1 to ${MAX_AUDIT_LEAVES} leaves, got ${leaves.length}`)
  if (new Set(leaves).size !== leaves.length || !leaves.every((i) => Number.isSafeInteger(i) && i >= 0)) throw new MalformedMessageError('audit leaves are distinct leaf indices')
  return [...leaves]
}

/** The node's answer: each asked leaf of `data` with its path; MalformedMessageError for a leaf beyond the chunk. */
export function auditProofOf (chunkId: string, data: Uint8Array, leaves: readonly number[]): AuditProofMessage {
  const count = leafCount(data.byteLength)
  const beyond = leaves.find((i) => i >= count)
  if (beyond !== undefined) throw new MalformedMessageError(`chunk ${chunkId} has ${count} leaves; there is no leaf ${beyond}`)
  const levels = merkleLevels(data, sha256)
  return { chunkId, leafCount: count, leaves: leaves.map((index) => ({ index, data: leafOf(data, index), path: inclusionPath(levels, index) })) }
}

/** The proof answering `leaves` of `chunkId`, in order; ProtocolError when it answers something else. */
export function checkAuditAnswer (proof: AuditProofMessage, chunkId: string, leaves: readonly number[]): AuditProofMessage {
  if (proof.chunkId !== chunkId) throw new ProtocolError('the storage node answered an audit of another chunk')
  if (proof.leaves.length !== leaves.length || proof.leaves.some((l, i) => l.index !== leaves[i])) throw new ProtocolError('the storage node answered other leaves than those asked')
  return proof
}
