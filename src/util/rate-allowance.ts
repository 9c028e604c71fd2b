/**
 * A count per minute, taken at once or refused, never waited for: what a connection
 * gater needs, which must answer each dial or handshake on the spot. A full minute's
 * worth may pass at once after a quiet minute (the burst), then `perMinute` on average.
 */
export class RateAllowance {
  private readonly perMinute: number
  private readonly now: () => number
  private tokens: number
  private at: number

  constructor (perMinute: number, now: () => number = Date.now) {
    if (!(perMinute > 0)) throw new RangeError('a rate allowance needs a positive rate')
    this.perMinute = perMinute
    this.now = now
    this.tokens = perMinute
    this.at = now()
  }

  /** Takes one if there is one. */
  take (): boolean {
    const at = this.now()
    this.tokens = Math.min(this.perMinute, this.tokens + Math.max(0, at - this.at) / 60_000 * this.perMinute)
    this.at = at
    if (this.tokens < 1) return false
    this.tokens -= 1
    return true
  }
}
