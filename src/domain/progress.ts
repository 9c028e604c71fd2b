import { InvalidInputError } from '../errors.ts'
import { formatSize } from './size.ts'
import { cellWidth, printable, truncateStart } from './terminal-width.ts'

/**
 * Progress of a transfer (`put`, `get`, `receive`): bytes done out of a total, the rate
 * over a sliding window and the time left at that rate; and its rendering as one
 * terminal line that fits the width, e.g.
 *
 *   photos/a.jpg  42% [########..........]  12.3 MiB/29.1 MiB  8.10 MiB/s  ETA 2s
 *
 * The clock is injected (`now`, milliseconds): the model holds no timer and does no
 * I/O; the CLI calls `snapshot()` when it redraws.
 *
 * The rate is measured over the last `windowMs` (5 s by default) rather than since the
 * start, so it follows the network when it speeds up or stalls, and the ETA with it.
 * Samples closer together than a fiftieth of the window are not recorded, so memory
 * stays bounded (~50 samples) however often `advance` is called.
 */

export interface ProgressOptions {
  totalBytes: number
  /** Milliseconds, monotonic in practice (performance.now); a clock going back is read as no time passing. */
  now: () => number
  /** Sliding window of the rate, ms; default 5000. */
  windowMs?: number
}

export interface ProgressSnapshot {
  doneBytes: number
  totalBytes: number
  /** done / total in [0, 1]; 1 for an empty transfer. */
  fraction: number
  /** Bytes per second over the window; undefined until time has passed. */
  bytesPerSecond: number | undefined
  /** Time left at that rate; undefined while unknown or stalled. */
  etaMs: number | undefined
  elapsedMs: number
}

interface Sample { at: number, done: number }

export class TransferProgress {
  private readonly now: () => number
  private readonly windowMs: number
  private readonly resolutionMs: number
  private readonly startedAt: number
  private readonly samples: Sample[]
  private total: number
  private done = 0
  private last: number

  constructor (options: ProgressOptions) {
    checkBytes(options.totalBytes, 'totalBytes')
    this.windowMs = options.windowMs ?? 5000
    if (!(this.windowMs > 0)) throw new InvalidInputError('windowMs must be positive')
    this.resolutionMs = this.windowMs / 50
    this.now = options.now
    this.total = options.totalBytes
    this.startedAt = this.last = options.now()
    this.samples = [{ at: this.startedAt, done: 0 }]
  }

  /** `bytes` more are done. */
  advance (bytes: number): void {
    checkBytes(bytes, 'bytes')
    this.done += bytes
    const at = this.time()
    if (at - this.samples.at(-1)!.at >= this.resolutionMs) this.samples.push({ at, done: this.done })
    this.prune(at)
  }

  /** The total changed (a file grew while being read, a directory's size became known). */
  setTotal (totalBytes: number): void {
    checkBytes(totalBytes, 'totalBytes')
    this.total = totalBytes
  }

  snapshot (): ProgressSnapshot {
    const at = this.time()
    this.prune(at)
    // the newest sample at or before the window's start, so the window is full once it can be
    const anchor = this.samples[0]!
    const span = at - anchor.at
    const bytesPerSecond = span > 0 ? (this.done - anchor.done) * 1000 / span : undefined
    const left = Math.max(0, this.total - this.done)
    const etaMs = left === 0 ? 0 : bytesPerSecond !== undefined && bytesPerSecond > 0 ? left * 1000 / bytesPerSecond : undefined
    return {
      doneBytes: this.done,
      totalBytes: this.total,
      fraction: this.total === 0 ? 1 : Math.min(1, this.done / this.total),
      bytesPerSecond,
      etaMs,
      elapsedMs: at - this.startedAt
    }
  }

  /** The clock, never going back. */
  private time (): number {
    this.last = Math.max(this.last, this.now())
    return this.last
  }

  /** Drops samples older than the one anchoring the window. */
  private prune (at: number): void {
    const windowStart = at - this.windowMs
    while (this.samples.length > 1 && this.samples[1]!.at <= windowStart) this.samples.shift()
  }
}

const MIN_BAR = 10
const MAX_BAR = 30
/** The label keeps at least this many cells (or all of it) before the bar is dropped. */
const MIN_LABEL = 12

/**
 * One line of at most `width` cells. The richest layout that fits wins: label, percent,
 * bar, sizes, rate, ETA; then without the bar; then percent and sizes; then percent.
 * The label (a path) is cut from the start, keeping the file name.
 */
export function renderProgressLine (label: string, progress: ProgressSnapshot, width: number): string {
  const cells = Math.max(0, Math.floor(width))
  const name = printable(label)
  const percent = `${Math.floor(progress.fraction * 100)}%`.padStart(4)
  const sizes = `${formatSize(progress.doneBytes)}/${formatSize(progress.totalBytes)}`
  const rate = progress.bytesPerSecond === undefined ? '--/s' : `${formatSize(Math.round(progress.bytesPerSecond))}/s`
  const eta = progress.doneBytes >= progress.totalBytes ? 'done' : `ETA ${formatDuration(progress.etaMs)}`

  const want = cellWidth(name)
  const layouts: Array<{ after: string[], bar: boolean }> = [
    { after: [sizes, rate, eta], bar: true },
    { after: [sizes, rate, eta], bar: false },
    { after: [sizes], bar: false },
    { after: [], bar: false }
  ]
  for (const { after, bar } of layouts) {
    const tail = after.map((part) => `  ${part}`).join('')
    // label, two spaces, percent, then (with a bar) a space and the bracketed bar, then the tail
    const fixed = 2 + cellWidth(percent) + (bar ? 3 : 0) + cellWidth(tail)
    const room = cells - fixed
    const barCells = bar ? Math.min(MAX_BAR, Math.max(MIN_BAR, room - want)) : 0
    const labelCells = Math.min(want, room - barCells)
    if (labelCells < Math.min(want, MIN_LABEL)) continue
    const filled = Math.floor(progress.fraction * barCells)
    const drawn = bar ? ` [${'#'.repeat(filled)}${'.'.repeat(barCells - filled)}]` : ''
    return `${truncateStart(name, labelCells)}  ${percent}${drawn}${tail}`
  }
  return truncateStart(percent.trim(), cells)
}

/** 2s, 1m05s, 2h03m, 3d04h; '--' when unknown. */
export function formatDuration (ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '--'
  const s = Math.ceil(ms / 1000)
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`
  return `${Math.floor(s / 86400)}d${String(Math.floor(s / 3600) % 24).padStart(2, '0')}h`
}

function checkBytes (value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new InvalidInputError(`${what} must be a non-negative integer, got ${value}`)
}
