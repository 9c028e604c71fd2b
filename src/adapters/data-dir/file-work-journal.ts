import { appendFile, readFile } from 'node:fs/promises'
import { DataDirError, throwIfAborted } from '../../errors.ts'
import type { AbortOptions } from '../../ports/abort-options.ts'
import type { JournalRecord, WorkJournal } from '../../ports/work-journal.ts'
import { writeAtomic } from './data-dir.ts'

interface PendingLine { line: string, resolve: () => void, reject: (err: unknown) => void }

/**
 * The work journal as JSON lines in the data directory, appended, compacted by an atomic
 * rewrite. Records appended while a write is under way go out together in the next one:
 * a put journals each of its files twice, and one open-write-close per record, one after
 * the other, was what its files waited on most (~115 ms each with 16 files in flight).
 *
 * The daemon is the file's only writer, so the file is read once and its records kept:
 * a put of 2,000 small files journals ~0.5 MB, and each later put, `status` and
 * background run parsed all of it again.
 */
export class FileWorkJournal implements WorkJournal {
  private readonly path: string
  /** Appends and compactions one after the other, so a compaction never drops a record appended meanwhile. */
  private queue: Promise<unknown> = Promise.resolve()
  private readonly pending: PendingLine[] = []
  private writeQueued = false
  /** What the file holds, once read; frozen, as every reader shares them. */
  private records: JournalRecord[] | undefined
  /** The file read ends inside a line (a crash in mid-append): the next write starts a new one. */
  private tornTail = false

  constructor (path: string) {
    this.path = path
  }

  async append (record: JournalRecord, options?: AbortOptions): Promise<void> {
    throwIfAborted(options?.signal)
    const line = JSON.stringify(record) + '\n'
    await new Promise<void>((resolve, reject) => {
      this.pending.push({ line, resolve, reject })
      if (this.writeQueued) return
      this.writeQueued = true
      void this.serial(async () => this.writePending())
    })
  }

  private async writePending (): Promise<void> {
    this.writeQueued = false
    const group = this.pending.splice(0)
    let records: JournalRecord[]
    try {
      records = await this.loaded()
      await appendFile(this.path, (this.tornTail ? '\n' : '') + group.map((p) => p.line).join(''), { mode: 0o600 })
      this.tornTail = false
    } catch (err: any) {
      // a write that failed part way may have left whole lines, or part of one: what the
      // file holds is read again before anything else uses it
      this.records = undefined
      const failure = err instanceof DataDirError ? err : new DataDirError(`cannot write ${this.path}: ${err?.message}`, { cause: err })
      for (const p of group) p.reject(failure)
      return
    }
    for (const p of group) {
      const record = parsed(p.line)
      if (record !== undefined) records.push(record)
    }
    for (const p of group) p.resolve()
  }

  async read (options?: AbortOptions): Promise<JournalRecord[]> {
    throwIfAborted(options?.signal)
    return this.serial(async () => (await this.loaded()).slice())
  }

  async compact (keep: (record: JournalRecord) => boolean, options?: AbortOptions): Promise<void> {
    throwIfAborted(options?.signal)
    await this.serial(async () => {
      const kept = (await this.loaded()).filter(keep)
      try {
        await writeAtomic(this.path, kept.map((r) => JSON.stringify(r) + '\n').join(''), 0o600)
      } catch (err: any) {
        throw new DataDirError(`cannot write ${this.path}: ${err?.message}`, { cause: err })
      }
      this.records = kept
      this.tornTail = false
    })
  }

  private async loaded (): Promise<JournalRecord[]> {
    if (this.records !== undefined) return this.records
    let text: string
    try {
      text = await readFile(this.path, 'utf8')
    } catch (err: any) {
      if (err?.code !== 'ENOENT') throw new DataDirError(`cannot read ${this.path}: ${err?.message}`, { cause: err })
      text = ''
    }
    const records: JournalRecord[] = []
    for (const line of text.split('\n')) {
      // a line torn by a crash in mid-write is skipped: what it said was never acted on
      const record = parsed(line)
      if (record !== undefined) records.push(record)
    }
    this.records = records
    this.tornTail = text !== '' && !text.endsWith('\n')
    return records
  }

  private async serial<T> (step: () => Promise<T>): Promise<T> {
    const run = this.queue.then(step, step)
    this.queue = run.catch(() => {})
    return run
  }
}

/** One line's record, deeply frozen; undefined for an empty, torn or foreign line. */
function parsed (line: string): JournalRecord | undefined {
  if (line.trim() === '') return undefined
  try {
    const record = JSON.parse(line)
    return typeof record?.kind === 'string' && typeof record?.op === 'string' ? deepFreeze(record) : undefined
  } catch {
    return undefined
  }
}

function deepFreeze<T> (value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner)
    Object.freeze(value)
  }
  return value
}
