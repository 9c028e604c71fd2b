import type { Logger } from '../../ports/logger.ts'

export interface RateLimitedLoggerInit {
  inner: Logger
  /** Lines let through per window, for refusals (info, warn) and for failures (error) each; the rest go to debug. */
  linesPerWindow?: number
  windowMs?: number
  /** Milliseconds on a clock that never steps back (default: performance.now). */
  now?: () => number
}

/** Lines of one kind written in the current window, and those held back to debug. */
interface Tally {
  lines: number
  held: number
}

/** Error names a window remembers: beyond these, failures are counted as "other". */
const MAX_FAILURE_KINDS = 16

/**
 * A Logger for what peers cause (refused requests, broken streams): info and warn
 * lines beyond a few per window are written at debug instead, and when the window ends
 * one line says how many were held back. A peer sending a flood of bad requests then
 * costs the log a few lines a minute, not one per request.
 *
 * Error lines (a request that failed inside the node) have a budget of their own: a
 * flood of refusals never hides them, and a peer that found a request the node fails
 * on cannot write an error, stack and all, per request it repeats. Nor can it hide
 * another failure behind its own: past the budget, the first line of each kind of
 * error (its name) in a window still passes, and the count held back is given by kind.
 */
export class RateLimitedLogger implements Logger {
  private readonly inner: Logger
  private readonly linesPerWindow: number
  private readonly windowMs: number
  private readonly now: () => number
  private windowStart = -Infinity
  private readonly refusals: Tally = { lines: 0, held: 0 }
  private readonly failures: Tally = { lines: 0, held: 0 }
  /** Per error name in this window: lines held back (0 once one was let through). */
  private readonly failureKinds = new Map<string, number>()
  private timer: ReturnType<typeof setTimeout> | undefined

  constructor (init: RateLimitedLoggerInit) {
    this.inner = init.inner
    this.linesPerWindow = init.linesPerWindow ?? 20
    this.windowMs = init.windowMs ?? 60_000
    this.now = init.now ?? (() => performance.now())
  }

  debug (message: string, ...args: unknown[]): void {
    this.inner.debug(message, ...args)
  }

  info (message: string, ...args: unknown[]): void {
    this.limited(this.refusals, 'info', message, args)
  }

  warn (message: string, ...args: unknown[]): void {
    this.limited(this.refusals, 'warn', message, args)
  }

  error (message: string, ...args: unknown[]): void {
    this.limited(this.failures, 'error', message, args)
  }

  /** Writes what the window held back, if anything, and starts a new one. */
  flush (): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    const seconds = Math.round(this.windowMs / 1000)
    if (this.refusals.held > 0) this.inner.info(`${this.refusals.held} more such line(s) in the last ${seconds} s went to debug`)
    if (this.failures.held > 0) {
      const kinds = [...this.failureKinds].filter(([, n]) => n > 0).map(([name, n]) => `${name} ${n}`).join(', ')
      this.inner.error(`${this.failures.held} more failed request(s) in the last ${seconds} s, logged at debug (${kinds})`)
    }
    this.windowStart = this.now()
    for (const t of [this.refusals, this.failures]) { t.lines = 0; t.held = 0 }
    this.failureKinds.clear()
  }

  private limited (tally: Tally, level: 'info' | 'warn' | 'error', message: string, args: unknown[]): void {
    const elapsed = this.now() - this.windowStart
    // a clock that went back (an injected one) starts a window too, never freezes one
    if (elapsed >= this.windowMs || elapsed < 0) this.flush()
    const kind = level === 'error' ? this.kindOf(args) : undefined
    const firstOfKind = kind !== undefined && !this.failureKinds.has(kind)
    if (tally.lines < this.linesPerWindow || firstOfKind) {
      tally.lines++
      if (kind !== undefined) this.failureKinds.set(kind, this.failureKinds.get(kind) ?? 0)
      this.inner[level](message, ...args)
      return
    }
    tally.held++
    if (kind !== undefined) this.failureKinds.set(kind, (this.failureKinds.get(kind) ?? 0) + 1)
    this.inner.debug(message, ...args)
    // the count is written when the window ends, whether or not another line comes
    this.timer ??= setTimeout(() => { this.flush() }, Math.max(0, this.windowStart + this.windowMs - this.now())).unref()
  }

  private kindOf (args: unknown[]): string {
    const err = args.find((a): a is Error => a instanceof Error)
    const name = err === undefined ? 'no error' : err.name
    return this.failureKinds.has(name) || this.failureKinds.size < MAX_FAILURE_KINDS ? name : 'other'
  }
}
