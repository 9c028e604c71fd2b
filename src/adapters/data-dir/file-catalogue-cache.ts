import { open, readFile } from 'node:fs/promises'
import { DataDirError, throwIfAborted } from '../../errors.ts'
import type { AbortOptions } from '../../ports/abort-options.ts'
import type { CachedCatalogue, CatalogueCache } from '../../ports/catalogue-cache.ts'
import { writeAtomic } from './data-dir.ts'

/**
 * Appends after which the next write is a whole rewrite, so a long-lived chain's log is
 * read in bounded time (a new catalogue base rewrites it anyway).
 */
const MAX_APPENDS = 64

/** What this process last wrote, to tell whether a write only adds pieces to it. */
interface Written {
  pieces: Uint8Array[]
  appends: number
  /** The file as this process left it: an append goes only onto that file, at that length. */
  ino: number
  size: number
}

/**
 * The catalogue cache as a file of JSON lines in the data directory (pieces in base64).
 * The first line is a whole value, `{pieces, holders}` (the format of one JSON object
 * older nodes wrote); each later line, `{append, holders}`, adds pieces to the value
 * before it and replaces its holders. A catalogue change is most often a delta added to
 * its chain: its write appends that delta's pieces, a few KB, instead of rewriting every
 * piece of the chain (1.6 MB for a tree of 2,000 files, written on each re-put).
 *
 * A write that is not an append (a new base, the first write of this process, after
 * MAX_APPENDS, a file changed, replaced or opened up since this process wrote it)
 * rewrites the file atomically (temp file, fsync, rename). An append is written and fdatasynced before `write` resolves; a line cut by a crash has no newline
 * and is ignored by `read`, which then sees the value before it: old or new, never a mix.
 */
export class FileCatalogueCache implements CatalogueCache {
  private readonly path: string
  private written: Written | undefined
  /** Writes one after another: an append must follow the write it extends. */
  private queue: Promise<unknown> = Promise.resolve()

  constructor (path: string) {
    this.path = path
  }

  async read (options?: AbortOptions): Promise<CachedCatalogue | undefined> {
    throwIfAborted(options?.signal)
    let text: string
    try {
      text = await readFile(this.path, 'utf8')
    } catch (err: any) {
      if (err?.code === 'ENOENT') return undefined
      throw new DataDirError(`cannot read ${this.path}: ${err?.message}`, { cause: err })
    }
    try {
      return parseLines(text)
    } catch {
      // a damaged cache is only a cache: the federation copy is fetched instead
      return undefined
    }
  }

  async write (value: CachedCatalogue, options?: AbortOptions): Promise<void> {
    throwIfAborted(options?.signal)
    const pieces = value.pieces.map((p) => new Uint8Array(p))
    const holders = structuredClone(value.holders)
    const run = this.queue.then(async () => this.writeNow(pieces, holders))
    this.queue = run.catch(() => {})
    await run
  }

  private async writeNow (pieces: Uint8Array[], holders: Record<string, string[]>): Promise<void> {
    const written = this.written
    const extending = written !== undefined && written.appends < MAX_APPENDS && extendsPieces(pieces, written.pieces)
    // unknown until this write lands: a failed one leaves the file as it was, or torn
    this.written = undefined
    try {
      const appended = extending && await this.append(JSON.stringify({ append: pieces.slice(written.pieces.length).map(base64), holders }) + '\n', written)
      if (appended !== false) {
        this.written = { pieces, appends: written!.appends + 1, ino: written!.ino, size: appended }
        return
      }
      const text = JSON.stringify({ pieces: pieces.map(base64), holders }) + '\n'
      const { ino, size } = await writeAtomic(this.path, text, 0o600)
      this.written = { pieces, appends: 0, ino, size }
    } catch (err: any) {
      throw new DataDirError(`cannot write ${this.path}: ${err?.message}`, { cause: err })
    }
  }

  /**
   * Appends `line` to the file `written` left, and its new length; false, with nothing
   * written, when the file is another (deleted or replaced meanwhile), another length, or
   * no longer private to its owner: the caller rewrites it whole, as it would be then.
   */
  private async append (line: string, written: Written): Promise<number | false> {
    const handle = await open(this.path, 'a', 0o600)
    try {
      const now = await handle.stat()
      if (now.ino !== written.ino || now.size !== written.size || (now.mode & 0o777) !== 0o600) return false
      await handle.writeFile(line)
      await handle.datasync()
      return written.size + Buffer.byteLength(line)
    } finally {
      await handle.close()
    }
  }
}

/** The value the lines give; a last line without its newline was cut by a crash and is not part of it. */
function parseLines (text: string): CachedCatalogue {
  const lines = text.split('\n')
  // an old cache is one JSON object with no newline: whole, not cut
  const whole = lines.length === 1 ? lines : lines.slice(0, -1)
  const [first, ...rest] = whole.map((line) => JSON.parse(line) as Record<string, unknown>)
  if (first === undefined || !Array.isArray(first.pieces) || !isHolders(first.holders)) throw new Error('wrong shape')
  const pieces = first.pieces.map(fromBase64)
  let holders = first.holders
  for (const line of rest) {
    if (!Array.isArray(line.append) || !isHolders(line.holders)) throw new Error('wrong shape')
    pieces.push(...line.append.map(fromBase64))
    holders = line.holders
  }
  return { pieces, holders }
}

function isHolders (value: unknown): value is Record<string, string[]> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) &&
    Object.values(value).every((ids) => Array.isArray(ids) && ids.every((id) => typeof id === 'string'))
}

/** Whether `pieces` are `before` and then more, or no more (only the holders changed). */
function extendsPieces (pieces: Uint8Array[], before: Uint8Array[]): boolean {
  return pieces.length >= before.length && before.every((piece, i) => Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength).equals(pieces[i]!))
}

function base64 (bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')
}

function fromBase64 (text: unknown): Uint8Array {
  if (typeof text !== 'string') throw new Error('wrong shape')
  return new Uint8Array(Buffer.from(text, 'base64'))
}
