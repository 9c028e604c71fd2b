import type { Logger } from '../../ports/logger.ts'

export interface RateLimitedLoggerInit {
  inner: Logger
  /** Lines let through per window, for refusals (info, warn) and for failures (error) each; the rest go to debug. */
  linesPerWindow?: number
  windowMs?: number
  now?: () => number
}

/** Lines of one kind written in the current window, and those held back to debug. */
interface Tally {
  lines: number
  held: number
}

/**
 * A Logger for what peers cause (refused requests, broken streams): info and warn
 * lines beyond a few per window are written at debug instead, and the first line of
 * the next window says how many were held back. A peer sending a flood of bad requests
 * then costs the log a few lines a minute, not one per request.
 *
 * Error lines (a request that failed inside the node) have a budget of their own: a
 * flood of refusals never hides them, and a peer that found a request the node fails
 * on cannot write an error, stack and all, per request it repeats.
 */
export class RateLimitedLogger implements Logger {
  private readonly inner: Logger
  private readonly linesPerWindow: number
  private readonly windowMs: number
  private readonly now: () => number
  private windowStart = -Infinity
  private readonly refusals: Tally = { lines: 0, held: 0 }
  private readonly failures: Tally = { lines: 0, held: 0 }

  constructor (init: RateLimitedLoggerInit) {
    this.inner = init.inner
    this.linesPerWindow = init.linesPerWindow ?? 20
    this.windowMs = init.windowMs ?? 60_000
    this.now = init.now ?? Date.now
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

  private limited (tally: Tally, level: 'info' | 'warn' | 'error', message: string, args: unknown[]): void {
    const now = this.now()
    if (now - this.windowStart >= this.windowMs) {
      const seconds = Math.round(this.windowMs / 1000)
      if (this.refusals.held > 0) this.inner.info(`${this.refusals.held} more such line(s) in the last ${seconds} s went to debug`)
      if (this.failures.held > 0) this.inner.error(`${this.failures.held} more failed request(s) in the last ${seconds} s, logged at debug`)
      this.windowStart = now
      for (const t of [this.refusals, this.failures]) { t.lines = 0; t.held = 0 }
    }
    if (tally.lines < this.linesPerWindow) {
      tally.lines++
      this.inner[level](message, ...args)
      return
    }
    tally.held++
    this.inner.debug(message, ...args)
  }
}
