import { RatePerKey } from './rate-per-key.ts'

/**
 * New streams per key (a subnet of strangers) per second: a token bucket per key, taken
 * at once or refused, never waited for, as an inbound stream must be answered on the
 * spot. Every stream a peer opens costs the node before any budget can refuse it: the
 * muxer's first window (256 KiB the peer may send unasked, all of it decrypted), the
 * stream's setup and its refusal. The budgets bound what is held at once, not how often
 * it is opened, so without a rate the ids of one host reopening each refused stream at
 * once made the node decrypt what it then dropped, on the same cores as its honest peers.
 *
 * A key may also be charged (`penalise`): a sender that made the node wait on a frame
 * it never finished owes streams, and its balance may go below zero (down to one burst
 * of debt), so it waits that much longer before it is let in again.
 */
export interface StreamRateLimits {
  /** Sustained new streams per second per key. */
  perSecond: number
  /** New streams one key may open at once after a quiet while. */
  burst: number
}

export class StreamRate {
  readonly limits: StreamRateLimits
  private readonly rates: RatePerKey

  constructor (limits: StreamRateLimits, now: () => number = Date.now) {
    this.limits = limits
    this.rates = new RatePerKey(limits, now)
  }

  /** Takes one new stream for `key` if it has one. */
  take (key: string): boolean {
    return this.rates.take(key)
  }

  /** Charges `streams` to `key` beyond what it took, down to one burst in debt. */
  penalise (key: string, streams: number): void {
    this.rates.spend(key, Math.max(0, Math.min(streams, this.rates.balanceOf(key) + this.limits.burst)))
  }

  /** What `key` may open now (negative: in debt). */
  balanceOf (key: string): number {
    return this.rates.balanceOf(key)
  }
}
