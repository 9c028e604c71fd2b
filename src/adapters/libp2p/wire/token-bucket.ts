import { AbortError } from '../../../errors.ts'
import { msToRefill } from '../../../util/rate-allowance.ts'

interface Waiter {
  bytes: number
  resolve: () => void
  reject: (err: Error) => void
  signal?: AbortSignal
  onAbort?: () => void
}

/**
 * A byte-rate limit: `bytesPerSecond` on average, at most `burstBytes` at once after
 * a quiet spell. Takers are served first come, first served, so streams sharing a bucket
 * interleave slice by slice instead of one of them starving the others. A taker may go
 * into debt by one slice (it is served when the balance is not negative), which keeps
 * the average exact without splitting its slice.
 */
export class TokenBucket {
  readonly bytesPerSecond: number
  private readonly burstBytes: number
  private readonly now: () => number
  private tokens: number
  private last: number
  private readonly queue: Waiter[] = []
  private timer: ReturnType<typeof setTimeout> | undefined
  /** Bytes let through so far. */
  passed = 0

  constructor (bytesPerSecond: number, burstBytes: number, now: () => number = () => performance.now()) {
    if (!(bytesPerSecond > 0) || !(burstBytes > 0)) throw new RangeError('a token bucket needs a positive rate and burst')
    this.bytesPerSecond = bytesPerSecond
    this.burstBytes = burstBytes
    this.now = now
    this.tokens = burstBytes
    this.last = now()
  }

  /** Waits until `bytes` may pass; rejects with AbortError when `signal` fires first. */
  async take (bytes: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted === true) throw new AbortError('rate-limited send aborted', { cause: signal.reason })
    this.refill()
    if (this.queue.length === 0 && this.tokens >= 0) {
      this.spend(bytes)
      return
    }
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { bytes, resolve, reject, signal }
      if (signal !== undefined) {
        waiter.onAbort = () => {
          const i = this.queue.indexOf(waiter)
          if (i >= 0) this.queue.splice(i, 1)
          reject(new AbortError('rate-limited send aborted', { cause: signal.reason }))
        }
        signal.addEventListener('abort', waiter.onAbort, { once: true })
      }
      this.queue.push(waiter)
      this.schedule()
    })
  }

  /** Counts `bytes` that already passed (received data): later takers wait for them. */
  charge (bytes: number): void {
    this.refill()
    this.spend(bytes)
  }

  /** Milliseconds until the balance is not negative (0 when it is not). */
  debtMs (): number {
    this.refill()
    return msToRefill(-this.tokens, this.bytesPerSecond)
  }

  /** Rejects every waiter (the node stops). */
  close (): void {
    clearTimeout(this.timer)
    this.timer = undefined
    for (const w of this.queue.splice(0)) {
      if (w.onAbort !== undefined) w.signal?.removeEventListener('abort', w.onAbort)
      w.reject(new AbortError('the rate limiter was closed'))
    }
  }

  private spend (bytes: number): void {
    this.tokens -= bytes
    this.passed += bytes
  }

  private refill (): void {
    const t = this.now()
    this.tokens = Math.min(this.burstBytes, this.tokens + (t - this.last) / 1000 * this.bytesPerSecond)
    this.last = t
  }

  private schedule (): void {
    if (this.timer !== undefined || this.queue.length === 0) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.refill()
      while (this.queue.length > 0 && this.tokens >= 0) {
        const w = this.queue.shift()!
        if (w.onAbort !== undefined) w.signal?.removeEventListener('abort', w.onAbort)
        this.spend(w.bytes)
        w.resolve()
      }
      this.schedule()
    }, this.debtMs())
  }
}
