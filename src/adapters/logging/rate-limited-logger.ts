import type { Logger } from '../../ports/logger.ts'

export interface RateLimitedLoggerInit {
  inner: Logger
  /** info and warn lines let through per window; the rest go to debug. */
  linesPerWindow?: number
  windowMs?: number
  now?: () => number
}

/**
 * A Logger for what peers cause (refused requests, broken streams): info and warn
 * lines beyond a few per window are written at debug instead, and the first line of
 * the next window says how many were held back. A peer sending a flood of bad requests
 * then costs the log a few lines a minute, not one per request; error lines (the node's
 * own failures) always pass.
 */
export class RateLimitedLogger implements Logger {
  private readonly inner: Logger
  private readonly linesPerWindow: number
  private readonly windowMs: number
  private readonly now: () => number
  private windowStart = -Infinity
  private lines = 0
  private held = 0

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
    this.limited('info', message, args)
  }

  warn (message: string, ...args: unknown[]): void {
    this.limited('warn', message, args)
  }

  error (message: string, ...args: unknown[]): void {
    this.inner.error(message, ...args)
  }

  private limited (level: 'info' | 'warn', message: string, args: unknown[]): void {
    const now = this.now()
    if (now - this.windowStart >= this.windowMs) {
      if (this.held > 0) this.inner.info(`${this.held} more such line(s) in the last ${Math.round(this.windowMs / 1000)} s went to debug`)
      this.windowStart = now
      this.lines = 0
      this.held = 0
    }
    if (this.lines < this.linesPerWindow) {
      this.lines++
      this.inner[level](message, ...args)
      return
    }
    this.held++
    this.inner.debug(message, ...args)
  }
}
