/** Milliseconds until a rate of `perSecond` has refilled `missing` (0: nothing is missing). */
export function msToRefill (missing: number, perSecond: number): number {
  return missing <= 0 ? 0 : Math.ceil(missing / perSecond * 1000)
}

/**
 * A count that refills at a steady rate up to a burst, taken at once or refused, never
 * waited for: what a connection gater, a request limit or a failure budget needs, which
 * must answer on the spot. After a quiet spell a whole burst may pass at once, then the
 * rate on average. (TokenBucket, in the wire adapters, is the waiting kind, for bytes.)
 */
export class RateAllowance {
  private readonly perMs: number
  private readonly burst: number
  private readonly now: () => number
  private tokens: number
  private at: number

  /** `perMinute` on average, a minute's worth (or `burst`) at once. */
  constructor (perMinute: number, now: () => number = Date.now, burst = perMinute) {
    if (!(perMinute > 0) || !(burst > 0)) throw new RangeError('a rate allowance needs a positive rate and burst')
    this.perMs = perMinute / 60_000
    this.burst = burst
    this.now = now
    this.tokens = burst
    this.at = now()
  }

  /** `perSecond` on average, `burst` at once. */
  static perSecond (perSecond: number, burst: number, now: () => number = Date.now): RateAllowance {
    return new RateAllowance(perSecond * 60, now, burst)
  }

  /** What may be taken now (negative while a debt from `spend` is paid off). */
  available (): number {
    const at = this.now()
    this.tokens = Math.min(this.burst, this.tokens + Math.max(0, at - this.at) * this.perMs)
    this.at = at
    return this.tokens
  }

  /** Takes `cost` if there is that much. */
  take (cost = 1): boolean {
    if (this.available() < cost) return false
    this.tokens -= cost
    return true
  }

  /** Charges `cost` after the fact (a failure known only later), into debt if need be. */
  spend (cost = 1): void {
    this.available()
    this.tokens -= cost
  }

  /** Back to a whole burst: it remembers nothing a fresh allowance would not. */
  get full (): boolean {
    return this.available() >= this.burst
  }
}
