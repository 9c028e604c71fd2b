import { randomBytes } from 'node:crypto'
import { batchDeleteSecret, batchReadSecret, batchRoot } from '../../domain/crypto/key-derivation.ts'
import { MAX_BATCHED_CHUNKS, type CatalogueEntry, type ManifestPieceRef } from '../../domain/formats/catalogue.ts'
import { CHUNK_SIZE } from '../../domain/formats/chunker.ts'
import { commitmentToDecimal, poseidonCommitment } from '../../domain/proofs/poseidon-commitment.ts'

/**
 * A batch: the small files of one `put`, stored under one read commitment (data
 * chunks) and one delete commitment (every record) instead of one pair per file, so
 * that a get or rm of a thousand small files proves once per holder, not once per file
 * per holder (protocol-spec/key-derivation.md, "Batches"). Each file keeps its own read
 * root R (content key, manifest key and commitment, what a share code carries) and its
 * own write key; its manifest carries the batch's read secret so a share still opens it.
 * A storage node sees one commitment for many files: it learns less of where one file
 * ends than before, never more. Deleting one file deletes its own chunk ids at once.
 */
export interface Batch {
  /** 32 hex digits, random per `put`. */
  id: string
  readSecret: bigint
  deleteSecret: bigint
  commitment: string
  deleteCommitment: string
}

/** Files up to this size go into the command's batch; larger ones pay their own proofs, once per many chunks. */
export const BATCH_MAX_BYTES = MAX_BATCHED_CHUNKS * CHUNK_SIZE

export function newBatch (master: Uint8Array): Batch {
  return batchOf(master, randomBytes(16).toString('hex'))
}

export function batchOf (master: Uint8Array, id: string): Batch {
  const root = batchRoot(master, Uint8Array.from(Buffer.from(id, 'hex')))
  const readSecret = batchReadSecret(root)
  const deleteSecret = batchDeleteSecret(root)
  return {
    id,
    readSecret,
    deleteSecret,
    commitment: commitmentToDecimal(poseidonCommitment(readSecret)),
    deleteCommitment: commitmentToDecimal(poseidonCommitment(deleteSecret))
  }
}

/** What the owner reads a batched file with, from its catalogue entry alone: no manifest. */
export interface BatchedRead {
  /** The batch's read secret, which the operation's pool keeps proven until it closes. */
  secret: bigint
  chunks: ManifestPieceRef[]
}

/** The batched read of `entry`, or nothing when it is not in a batch. */
export function batchedReadOf (master: Uint8Array, entry: CatalogueEntry): { batched: BatchedRead } | Record<string, never> {
  if (entry.batch === undefined || entry.chunks === undefined) return {}
  const root = batchRoot(master, Uint8Array.from(Buffer.from(entry.batch, 'hex')))
  return { batched: { secret: batchReadSecret(root), chunks: entry.chunks } }
}
