import { msToRefill, RateAllowance } from '../../util/rate-allowance.ts'
import { RatePerKey } from './rate-per-key.ts'

export interface StoreRateLimits {
  /** Bytes a second the strangers of one subnet may have stored, together. */
  perSubnet: number
  /** Bytes a second all strangers may have stored, together. */
  strangers: number
}

/** A quiet subnet may store this many seconds' worth at once. */
const BURST_SECONDS = 2

/**
 * What strangers' stores cost the node, as bytes (record charges) a second: per subnet,
 * as fresh identities are free, and for all strangers together, as subnets are cheap
 * too. Each store is charged once its size is known, into debt; the stranger's next
 * store waits until its subnet and the strangers are out of debt again. Allowances
 * bound what strangers may keep; this bounds how fast they write it, so 48 free ids
 * filling their allowances at disk speed cannot take the node's disk and cores from the
 * peers it trusts or stores with, who are never metered.
 */
export class StoreRate {
  readonly limits: StoreRateLimits
  private readonly subnets: RatePerKey
  private readonly strangers: RateAllowance

  constructor (limits: StoreRateLimits, now: () => number = Date.now) {
    if (!(limits.perSubnet > 0) || !(limits.strangers > 0)) throw new RangeError('a store rate needs positive rates')
    this.limits = limits
    this.subnets = new RatePerKey({ perSecond: limits.perSubnet, burst: limits.perSubnet * BURST_SECONDS }, now)
    this.strangers = RateAllowance.perSecond(limits.strangers, limits.strangers * BURST_SECONDS, now)
  }

  /** Charges a stranger's store of `bytes` to `subnet` and to all strangers. */
  charge (subnet: string, bytes: number): void {
    this.subnets.spend(subnet, bytes)
    this.strangers.spend(bytes)
  }

  /** Milliseconds before a stranger of `subnet` may store again (0: now). */
  waitMs (subnet: string): number {
    return Math.max(this.subnets.msUntil(subnet, 0), msToRefill(-this.strangers.available(), this.limits.strangers))
  }
}
