import { createHmac } from 'node:crypto'
import type { CatalogueEntry } from '../../domain/formats/catalogue.ts'
import type { ManifestChunk } from '../../domain/formats/manifest.ts'
import { parseFileId, type FileId } from '../../domain/formats/file-id.ts'
import type { ErasureScheme } from '../../domain/formats/stripe-layout.ts'
import type { AbortOptions } from '../../ports/abort-options.ts'
import type { Logger } from '../../ports/logger.ts'
import type { StoredReceipt } from '../../ports/federation-client.ts'
import type { FileShape, JournalRecord, SentPiece } from '../../ports/work-journal.ts'
import { hashFile } from './file-content-hash.ts'
import type { InputItem } from './input-paths.ts'
import { resumableFiles, type OwnerJournal, type PutJournal, type ResumableFile, type ResumeClaims } from './work-in-flight.ts'

/**
 * Resuming a put the daemon's death cut (issue 12). Two kinds of file are resumed:
 *
 * - A batched file that put stored whole (every chunk acknowledged by its holders): the
 *   journal names it with its size, mode, time and keyed content hash (work-in-flight.ts,
 *   `stored`). A re-run adopts it for an input of the same size, mode and time whose
 *   content hashes alike: its entry names the chunks already on the holders.
 * - A file sent outside a batch (over 16 MiB, or erasure-coded), whole or cut mid-way
 *   (CutFile): the journal names each unit (a chunk, or a stripe) its holders
 *   acknowledged, with the owner's keyed hash of the unit's plaintext (`unitHash`). A
 *   re-run of the same size, mode, time and scheme keeps the file's id, so its keys and
 *   commitments are those the holders have; each unit whose plaintext hashes as
 *   journaled is adopted by its chunk ids and not sealed again; the rest is sealed under
 *   fresh nonces and sent. No (key, nonce) pair is used twice and nothing convergent is
 *   stored: a unit's ids still come from random nonces, and what tells a re-run the
 *   bytes are alike is a keyed hash kept in the owner's data directory only.
 *
 * Two re-runs at once in one daemon never adopt one file, and a cut put one of them adopted
 * from is undone only once that one committed or failed (work-in-flight.ts, ResumeClaims).
 *
 * A put cancelled or failed in a running daemon keeps nothing: it is undone at once.
 * Storage nodes learn nothing from a resume: no record is stored or read for it.
 */
export class ResumablePut {
  private readonly byShape = new Map<string, ResumableFile[]>()
  private readonly journal: OwnerJournal | undefined
  private readonly claims: ResumeClaims | undefined
  private readonly adopted = new Set<string>()

  private readonly cut: CutFile[]

  private constructor (journal: OwnerJournal | undefined, files: ResumableFile[], taken: Set<string>, cut: CutFile[]) {
    this.journal = journal
    this.claims = journal?.claims()
    for (const file of files) {
      // a file adopted by an earlier re-run is in the catalogue already
      if (taken.has(file.fileId)) continue
      const key = shapeOf(file)
      this.byShape.set(key, [...(this.byShape.get(key) ?? []), file])
    }
    this.cut = cut.filter((f) => !taken.has(f.fileId))
  }

  /** @internal resumablePut's. */
  static of (journal: OwnerJournal | undefined, files: ResumableFile[], taken: Set<string>, cut: CutFile[] = []): ResumablePut {
    return new ResumablePut(journal, files, taken, cut)
  }

  get size (): number {
    return this.byShape.size
  }

  /**
   * The cut file outside a batch whose units an input of this size, mode, time and
   * scheme may adopt (the one with most units), or nothing; each is given out once.
   * Its other cut puts are finished by this re-run's commit.
   */
  partial (item: InputItem, scheme: { replicas: number, erasure?: ErasureScheme | undefined }): CutFile | undefined {
    const fits = this.cut.filter((f) => f.fits(item, scheme))
    // the one with most units another re-run under way does not have
    const best = fits.sort((a, b) => b.units.size - a.units.size).find((f) => this.claims?.claim(f.ops, f.fileId) ?? true)
    if (best === undefined) return undefined
    this.cut.splice(this.cut.indexOf(best), 1)
    for (const op of best.ops) this.adopted.add(op)
    return best
  }

  /**
   * The entry of a stored file `item` is, kept on `copies` holders at least, or nothing.
   * Each stored file is adopted once: two inputs of one content get two files.
   */
  async take (item: InputItem, hashKey: Uint8Array, copies: number, signal?: AbortSignal): Promise<CatalogueEntry | undefined> {
    const key = shapeOf(item)
    const candidates = (this.byShape.get(key) ?? []).filter((f) => f.chunks.every(([, holders]) => holders.length >= copies))
    if (candidates.length === 0) return undefined
    const contentHash = await hashFile(item.path, hashKey, signal, item.size)
    const found = candidates.find((f) => f.contentHash === contentHash && (this.claims?.claim([f.op], f.fileId) ?? true))
    if (found === undefined) return undefined
    this.byShape.set(key, this.byShape.get(key)!.filter((f) => f !== found))
    this.adopted.add(found.op)
    return {
      fileId: found.fileId,
      name: item.name,
      kind: 'file',
      size: found.size,
      mode: found.mode,
      mtimeMs: found.mtimeMs,
      ...(item.group === undefined ? {} : { group: item.group }),
      contentHash,
      batch: found.batch,
      chunks: found.chunks.map(([id, holders]) => ({
        id, holders: [...holders], ...(found.pack === undefined ? {} : { pack: { id: found.pack[0], offset: found.pack[1], length: found.pack[2] } })
      }))
    }
  }

  /** The re-run's catalogue generation is committed: the cut puts it adopted from are finished (their rest undone). */
  committed (): void {
    this.claims?.release()
    for (const op of this.adopted) this.journal?.resumed(op)
  }

  /** The re-run ended (committed or not): what it adopted is no longer held from other re-runs and the background work. */
  ended (): void {
    this.claims?.release()
  }
}

/** What `journal` holds for a resume; `taken` are the file ids the catalogue names. */
export async function resumablePut (journal: OwnerJournal | undefined, taken: Set<string>, hashKey: Uint8Array, options?: AbortOptions): Promise<ResumablePut> {
  if (journal === undefined) return ResumablePut.of(undefined, [], taken)
  const records = await journal.kept(options)
  return ResumablePut.of(journal, resumableFiles(records), taken, cutFiles(records, hashKey))
}

type FileRecord = Extract<JournalRecord, { kind: 'file' }>
type SentRecord = Extract<JournalRecord, { kind: 'sent' }>

/**
 * A file sent outside a batch by cut puts (`ops`): per unit what its holders
 * acknowledged, for a re-run to adopt (see the top of this file). A re-run that takes it
 * keeps its id; `stale` then names what of it the re-run did not adopt, to delete.
 */
export class CutFile {
  readonly fileId: string
  readonly id: FileId
  readonly shape: FileShape
  readonly ops: string[]
  /** The holders a replicated file was planned on. */
  readonly holders: string[]
  readonly units: Map<number, SentRecord>
  /** Pieces of manifests the cut puts stored for it. */
  private readonly manifests: string[]
  private readonly hashKey: Uint8Array
  private readonly adopted = new Set<number>()
  /** Per holder, what it listed under the file's read commitment (`look`). */
  private readonly present = new Map<string, Set<string>>()

  constructor (file: FileRecord, ops: string[], units: Map<number, SentRecord>, manifests: string[], hashKey: Uint8Array) {
    this.fileId = file.fileId
    this.id = parseFileId(file.fileId)
    this.shape = file.shape!
    this.ops = ops
    this.holders = file.holders
    this.units = units
    this.manifests = manifests
    this.hashKey = hashKey
  }

  /** Units a re-run adopted so far. */
  get adoptedUnits (): number {
    return this.adopted.size
  }

  fits (item: { size: number, mode: number, mtimeMs: number }, scheme: { replicas: number, erasure?: ErasureScheme | undefined }): boolean {
    const { shape } = this
    if (shapeOf(shape) !== shapeOf(item)) return false
    if (scheme.erasure === undefined) return shape.erasure === undefined && shape.replicas === scheme.replicas
    return shape.erasure?.data === scheme.erasure.data && shape.erasure.parity === scheme.erasure.parity
  }

  /**
   * Per shard slot of an erasure-coded file, the holder every journaled stripe put it on;
   * undefined when a slot lost its holder or two stripes disagree (then nothing is adopted).
   */
  slots (shards: number): string[] | undefined {
    let slots: string[] | undefined
    for (const unit of this.units.values()) {
      const of = unit.pieces.map((p) => p.holders.length === 1 ? p.holders[0]! : '')
      if (of.length !== shards || of.includes('') || new Set(of).size !== shards) return undefined
      if (slots !== undefined && slots.some((peer, j) => peer !== of[j])) return undefined
      slots = of
    }
    return slots
  }

  /**
   * Asks every holder the cut puts journaled what it keeps under the file's read
   * commitment (`list`, one proven session each), before anything is adopted: a piece a
   * holder no longer has is not named again, and what a holder has that the journal does
   * not name (acknowledged in the instant the daemon died) is known for `stale`. A holder
   * that does not answer is not believed to keep anything.
   */
  async look (list: (peer: string) => Promise<string[]>, log: Logger): Promise<void> {
    for (const peer of this.peers()) {
      try {
        this.present.set(peer, new Set(await list(peer)))
      } catch (err) {
        log.debug(`${peer} did not list what a cut put left of file ${this.fileId}: ${(err as Error).message}; nothing of it there is adopted`)
      }
    }
  }

  /**
   * Unit `unit` as journaled, with only the holders that still list its pieces (`look`),
   * when `plain` (its plaintext) hashes alike and each piece keeps `copies` holders; else nothing.
   */
  adopt (unit: number, plain: Uint8Array, copies: number): SentRecord | undefined {
    const sent = this.units.get(unit)
    if (sent === undefined) return undefined
    const pieces = sent.pieces.map((p) => ({ ...p, holders: p.holders.filter((h) => this.present.get(h)?.has(p.id) === true) }))
    if (pieces.some((p) => p.holders.length < copies)) return undefined
    if (unitHash(this.hashKey, this.fileId, unit, plain) !== sent.hash) return undefined
    this.adopted.add(unit)
    return { ...sent, pieces: pieces.map((p) => ({ ...p, receipts: p.receipts.filter(([peer]) => p.holders.includes(peer)) })) }
  }

  /** Every peer the cut puts journaled a piece of the file on, or planned it for. */
  peers (): string[] {
    return [...new Set([...this.holders, ...[...this.units.values()].flatMap((u) => u.pieces.flatMap((p) => p.holders))])]
  }

  /**
   * Per holder, the ids of what the cut puts stored that neither an adopted unit nor
   * `keep` (the re-run's manifest pieces) names: the journal's units not adopted, what
   * the holders listed beside them, and the cut puts' manifest pieces.
   */
  stale (keep: Set<string>): Map<string, string[]> {
    const adopted = new Set([...this.adopted].flatMap((unit) => this.units.get(unit)!.pieces.map((p) => p.id)))
    const stale = new Map<string, Set<string>>()
    const add = (peer: string, id: string): void => {
      if (keep.has(id) || adopted.has(id)) return
      stale.set(peer, (stale.get(peer) ?? new Set()).add(id))
    }
    for (const sent of this.units.values()) for (const piece of sent.pieces) piece.holders.forEach((h) => { add(h, piece.id) })
    for (const [peer, ids] of this.present) for (const id of ids) add(peer, id)
    // a manifest piece names no holder in the journal: every holder of the file is asked
    for (const id of this.manifests) for (const peer of this.peers()) add(peer, id)
    return new Map([...stale].map(([peer, ids]) => [peer, [...ids]]))
  }
}

/** What a put's pipeline gathers for the file's manifest, per flat index (put-file.ts, put-stripes.ts). */
export interface StoredUnits {
  chunks: ManifestChunk[]
  holders: string[][]
  receipts: StoredReceipt[]
  /** The shards' Merkle roots, for an erasure-coded file. */
  roots?: string[]
}

/**
 * Names adopted unit `sent` (CutFile.adopt) in what the re-run stores, each piece at its
 * flat index with its holders, receipts and (a shard) root, and journals it under the
 * re-run's own op; resolves once journaled.
 */
export async function placeAdopted (stored: StoredUnits, fileId: string, sent: SentRecord, journal: PutJournal | undefined): Promise<void> {
  for (const piece of sent.pieces) {
    stored.chunks[piece.at] = { id: piece.id, size: piece.size }
    stored.holders[piece.at] = [...piece.holders]
    stored.receipts.push(...receiptsOf(piece))
    if (stored.roots !== undefined) stored.roots[piece.at] = piece.root!
  }
  await journal?.sent(fileId, sent.unit, sent.hash, sent.pieces)
}

/** The receipts of an adopted piece, as the manifest keeps them. */
function receiptsOf (piece: SentPiece): StoredReceipt[] {
  return piece.receipts.map(([peerId, timeMs, signature]) => ({ peerId, chunkId: piece.id, timeMs, signature }))
}

export const UNIT_HASH_LABEL = 'quloud/v4/resume-unit'

/**
 * The owner's keyed hash of unit `unit` (a chunk or a stripe) of file `fileId`:
 * HMAC-SHA256 under the content-hash key (content-hash.ts) of
 * ASCII(label) || 0x00 || ASCII(fileId) || 0x00 || ASCII(unit) || 0x00 || plaintext. Kept
 * in the owner's journal only; equal units of two files hash apart.
 */
export function unitHash (key: Uint8Array, fileId: string, unit: number, plain: Uint8Array): string {
  return createHmac('sha256', key).update(`${UNIT_HASH_LABEL}\0${fileId}\0${unit}\0`).update(plain).digest('hex')
}

/**
 * The cut files of `records` (OwnerJournal.kept): per file id, its shape, units and ops;
 * an op that handed the file over to a re-run (`taken`) offers nothing of it, and of two
 * ops that journaled one unit the later wins.
 */
function cutFiles (records: JournalRecord[], hashKey: Uint8Array): CutFile[] {
  const taken = new Set(records.flatMap((r) => r.kind === 'taken' ? [`${r.op} ${r.fileId}`] : []))
  const files = new Map<string, { file: FileRecord, ops: Set<string>, units: Map<number, SentRecord>, manifests: string[] }>()
  for (const r of records) {
    if (r.kind !== 'file' && r.kind !== 'sent' && r.kind !== 'manifest') continue
    if (taken.has(`${r.op} ${r.fileId}`)) continue
    if (r.kind === 'file') {
      if (r.shape === undefined || r.batched) continue
      const known = files.get(r.fileId)
      if (known === undefined) files.set(r.fileId, { file: r, ops: new Set([r.op]), units: new Map(), manifests: [] })
      else known.ops.add(r.op)
    } else if (r.kind === 'sent') {
      files.get(r.fileId)?.units.set(r.unit, r)
    } else {
      files.get(r.fileId)?.manifests.push(...r.ids)
    }
  }
  return [...files.values()].filter((f) => f.units.size > 0).map((f) => new CutFile(f.file, [...f.ops], f.units, f.manifests, hashKey))
}

function shapeOf (file: { size: number, mode: number, mtimeMs: number }): string {
  return `${file.size} ${file.mode & 0o7777} ${Math.floor(file.mtimeMs)}`
}
