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

interface Bucket { tokens: number, at: number }

/**
 * Keys remembered at most: beyond them full buckets (keys that cost nothing now) are
 * forgotten, and if none is, newcomers share one bucket, so fresh subnets cannot grow
 * the map without end.
 */
const MAX_KEYS = 10_000
const OVERFLOW = '(overflow)'

export class StreamRate {
  readonly limits: StreamRateLimits
  private readonly now: () => number
  private readonly buckets = new Map<string, Bucket>()

  constructor (limits: StreamRateLimits, now: () => number = Date.now) {
    if (!(limits.perSecond > 0) || !(limits.burst >= 1)) throw new RangeError('a stream rate needs a positive rate and a burst of at least one')
    this.limits = limits
    this.now = now
  }

  /** Takes one new stream for `key` if it has one. */
  take (key: string): boolean {
    const bucket = this.refilled(key)
    if (bucket.tokens < 1) return false
    bucket.tokens -= 1
    return true
  }

  /** Charges `streams` to `key` beyond what it took, down to one burst in debt. */
  penalise (key: string, streams: number): void {
    const bucket = this.refilled(key)
    bucket.tokens = Math.max(-this.limits.burst, bucket.tokens - streams)
  }

  /** What `key` may open now (negative: in debt). */
  balanceOf (key: string): number {
    return this.buckets.has(key) ? this.refilled(key).tokens : this.limits.burst
  }

  private refilled (key: string): Bucket {
    const at = this.now()
    let bucket = this.buckets.get(key)
    if (bucket === undefined) {
      if (this.buckets.size >= MAX_KEYS) this.sweep(at)
      if (this.buckets.size >= MAX_KEYS && key !== OVERFLOW) return this.refilled(OVERFLOW)
      bucket = { tokens: this.limits.burst, at }
      this.buckets.set(key, bucket)
      return bucket
    }
    bucket.tokens = Math.min(this.limits.burst, bucket.tokens + Math.max(0, at - bucket.at) / 1000 * this.limits.perSecond)
    bucket.at = at
    return bucket
  }

  /** Forgets keys whose bucket has refilled: they would start full anyway. */
  private sweep (at: number): void {
    for (const [key, b] of this.buckets) {
      if (b.tokens + Math.max(0, at - b.at) / 1000 * this.limits.perSecond >= this.limits.burst) this.buckets.delete(key)
    }
  }
}
