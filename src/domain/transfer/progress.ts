import { InvalidInputError } from '../../errors.ts'

/**
 * Progress of a transfer (`put`, `get`, `receive`): bytes done out of a total, the rate
 * over a sliding window and the time left at that rate (src/cli/progress-line.ts draws
 * it as one terminal line).
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

function checkBytes (value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new InvalidInputError(`${what} must be a non-negative integer, got ${value}`)
}
