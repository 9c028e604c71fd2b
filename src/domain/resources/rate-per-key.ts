import { msToRefill, RateAllowance } from '../../util/rate-allowance.ts'

export interface RatePerKeyLimits {
  /** Sustained units per second per key. */
  perSecond: number
  /** Units one key may take at once after a quiet while. */
  burst: number
}

/**
 * Keys remembered at most: beyond them keys back to a whole burst (which remember
 * nothing a fresh allowance would not) are forgotten, and if none is, newcomers share
 * one allowance, so fresh subnets cannot grow the map without end.
 */
const MAX_RATE_KEYS = 10_000
const OVERFLOW = '(overflow)'

/**
 * One RateAllowance per key (a subnet of strangers, usually): what the stream rate, the
 * strangers' new connections and the strangers' store bytes each meter. Fresh identities
 * are free, so the key is their network, never their peer id.
 */
export class RatePerKey {
  readonly limits: RatePerKeyLimits
  private readonly now: () => number
  private readonly allowances = new Map<string, RateAllowance>()

  constructor (limits: RatePerKeyLimits, now: () => number = Date.now) {
    if (!(limits.perSecond > 0) || !(limits.burst >= 1)) throw new RangeError('a rate per key needs a positive rate and a burst of at least one')
    this.limits = limits
    this.now = now
  }

  /** Takes `cost` for `key` if it has that much. */
  take (key: string, cost = 1): boolean {
    return this.allowanceOf(key).take(cost)
  }

  /** Charges `cost` to `key` after the fact, into debt if need be. */
  spend (key: string, cost: number): void {
    this.allowanceOf(key).spend(cost)
  }

  /** What `key` may take now (negative: in debt). */
  balanceOf (key: string): number {
    return this.allowances.get(key)?.available() ?? this.limits.burst
  }

  /** Milliseconds until `key` has `cost` again (0: it has it now). */
  msUntil (key: string, cost = 1): number {
    return msToRefill(cost - this.balanceOf(key), this.limits.perSecond)
  }

  private allowanceOf (key: string): RateAllowance {
    let allowance = this.allowances.get(key)
    if (allowance !== undefined) return allowance
    if (this.allowances.size >= MAX_RATE_KEYS) {
      for (const [k, a] of this.allowances) if (a.full) this.allowances.delete(k)
      if (this.allowances.size >= MAX_RATE_KEYS && key !== OVERFLOW) return this.allowanceOf(OVERFLOW)
    }
    allowance = RateAllowance.perSecond(this.limits.perSecond, this.limits.burst, this.now)
    this.allowances.set(key, allowance)
    return allowance
  }
}
