import type { CatalogueEntry } from '../../domain/formats/catalogue.ts'
import type { AbortOptions } from '../../ports/abort-options.ts'
import { hashFile } from './file-content-hash.ts'
import type { InputItem } from './input-paths.ts'
import type { OwnerJournal, ResumableFile } from './work-in-flight.ts'

/**
 * Resuming a put the daemon's death cut (issue 12): the journal names each batched file
 * that put stored whole (every chunk acknowledged by its holders) with its size, mode,
 * time and keyed content hash (work-in-flight.ts, `stored`). A re-run of the put adopts
 * such a file for an input of the same size, mode and time whose content hashes alike:
 * its entry names the chunks already on the holders, and nothing of it is sent again.
 *
 * What is not resumed, and why: a file cut mid-way is sent again whole, because its
 * chunks were sealed under random nonces (owner-layer.ts) and a second sealing gives
 * other chunk ids, so what the holders kept of it cannot be named; the background undo
 * deletes it. Files outside a batch (erasure-coded, or over 16 MiB) are sent again too:
 * their manifest, already stored, names the file and cannot be adopted under another.
 * A put cancelled or failed in a running daemon keeps nothing: it is undone at once.
 * Storage nodes learn nothing from a resume: no record is stored or read for it.
 */
export class ResumablePut {
  private readonly byShape = new Map<string, ResumableFile[]>()
  private readonly journal: OwnerJournal | undefined
  private readonly adopted = new Set<string>()

  private constructor (journal: OwnerJournal | undefined, files: ResumableFile[], taken: Set<string>) {
    this.journal = journal
    for (const file of files) {
      // a file adopted by an earlier re-run is in the catalogue already
      if (taken.has(file.fileId)) continue
      const key = shapeOf(file)
      this.byShape.set(key, [...(this.byShape.get(key) ?? []), file])
    }
  }

  /** @internal resumablePut's. */
  static of (journal: OwnerJournal | undefined, files: ResumableFile[], taken: Set<string>): ResumablePut {
    return new ResumablePut(journal, files, taken)
  }

  get size (): number {
    return this.byShape.size
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
    const found = candidates.find((f) => f.contentHash === contentHash)
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
      chunks: found.chunks.map(([id, holders]) => ({ id, holders: [...holders] }))
    }
  }

  /** The re-run's catalogue generation is committed: the cut puts it adopted from are finished (their rest undone). */
  committed (): void {
    for (const op of this.adopted) this.journal?.resumed(op)
  }
}

/** What `journal` holds for a resume; `taken` are the file ids the catalogue names. */
export async function resumablePut (journal: OwnerJournal | undefined, taken: Set<string>, options?: AbortOptions): Promise<ResumablePut> {
  return ResumablePut.of(journal, journal === undefined ? [] : await journal.resumable(options), taken)
}

function shapeOf (file: { size: number, mode: number, mtimeMs: number }): string {
  return `${file.size} ${file.mode & 0o7777} ${Math.floor(file.mtimeMs)}`
}
