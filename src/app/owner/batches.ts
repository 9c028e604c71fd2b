import { randomBytes } from 'node:crypto'
import { batchDeleteSecret, batchReadSecret, batchRoot } from '../../domain/crypto/key-derivation.ts'
import { MAX_BATCHED_CHUNKS, type BatchedChunkRef, type CatalogueEntry } from '../../domain/formats/catalogue.ts'
import type { PackReads } from './pack-reads.ts'
import { CHUNK_SIZE } from '../../domain/formats/chunker.ts'
import { commitmentToDecimal, poseidonCommitment } from '../../domain/proofs/poseidon-commitment.ts'
import type { AbortOptions } from '../../ports/abort-options.ts'
import type { OwnerJournal, PutJournal } from './work-in-flight.ts'

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

/**
 * Chunks of one batch at most: a holder lists a commitment's chunks in at most
 * MAX_LISTED_CHUNK_IDS (100,000) ids, and the owner lists a batch to undo a put.
 */
export const BATCH_MAX_CHUNKS = 50_000

/** A batch and the journal of the put it belongs to. */
export interface BatchSlot {
  batch: Batch
  journal?: PutJournal | undefined
}

/**
 * The batches of one command: a new one whenever the current one would pass
 * BATCH_MAX_CHUNKS, each journaled as a put of its own (work-in-flight.ts) before any
 * of its files is sent. `first` is opened at once: files outside any batch (large,
 * erasure-coded) are journaled under it.
 */
export class BatchSequence {
  private readonly master: Uint8Array
  private readonly journal: OwnerJournal | undefined
  private readonly maxChunks: number
  private readonly slots: BatchSlot[] = []
  private chunks = 0
  private opening: Promise<BatchSlot> | undefined

  private constructor (master: Uint8Array, journal: OwnerJournal | undefined, maxChunks: number) {
    this.master = master
    this.journal = journal
    this.maxChunks = maxChunks
  }

  static async open (master: Uint8Array, journal: OwnerJournal | undefined, options?: AbortOptions, maxChunks = BATCH_MAX_CHUNKS): Promise<BatchSequence> {
    const sequence = new BatchSequence(master, journal, maxChunks)
    await sequence.next(options)
    return sequence
  }

  get first (): BatchSlot {
    return this.slots[0]!
  }

  /** The slot for a file of `chunks` chunks (one at least is counted). */
  async take (chunks: number, options?: AbortOptions): Promise<BatchSlot> {
    const weight = Math.max(1, chunks)
    // files waiting for the same new batch may fill it again: look once more after each wait
    for (await this.opening; this.chunks + weight > this.maxChunks && this.chunks > 0; await this.opening) {
      this.opening ??= this.next(options).finally(() => { this.opening = undefined })
    }
    this.chunks += weight
    return this.slots.at(-1)!
  }

  /** Every batch's files are in the committed catalogue. */
  async done (): Promise<void> {
    for (const slot of this.slots) await slot.journal?.done()
  }

  /** The command failed: what it sent and the catalogue does not name is undone in the background. */
  failed (): void {
    for (const slot of this.slots) slot.journal?.failed()
  }

  private async next (options?: AbortOptions): Promise<BatchSlot> {
    const batch = newBatch(this.master)
    const slot: BatchSlot = { batch, journal: await this.journal?.startPut(batch.id, options) }
    this.slots.push(slot)
    this.chunks = 0
    return slot
  }
}

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
  chunks: BatchedChunkRef[]
  /** The operation's pack reads (pack-reads.ts), shared by its files; without, each file reads its packs alone. */
  packs?: PackReads | undefined
}

/** The batched read of `entry`, or nothing when it is not in a batch. */
export function batchedReadOf (master: Uint8Array, entry: CatalogueEntry, packs?: PackReads): { batched: BatchedRead } | Record<string, never> {
  if (entry.batch === undefined || entry.chunks === undefined) return {}
  const root = batchRoot(master, Uint8Array.from(Buffer.from(entry.batch, 'hex')))
  return { batched: { secret: batchReadSecret(root), chunks: entry.chunks, packs } }
}
