import { DEFAULT_DEPARTURE_PRIOR, departureRate, fileDepartureRate, YEAR_MS, type DeparturePrior, type ObservedHolder } from '../../domain/durability/departure-estimate.ts'
import { fileLoss, type RepairTiming } from '../../domain/durability/file-durability.ts'
import type { FileHealth } from '../../domain/formats/manifest-health.ts'

/** What `ls` shows of a file's durability (docs/durability.md). */
export interface FileDurability {
  /** P(the file is lost within a year) from its health now, its holders and the repair timers. */
  lossPerYear: number
  /** The departure rate the model gave each of its holders (their mean), per year. */
  holderDeparturesPerYear: number
}

/** Estimates kept at most; a catalogue of 50,000 files has few distinct (scheme, health, rate) triples. */
const CACHE_LIMIT = 4096

/** The estimate of a file of `health` whose usable holders the peer book knows as `holders`. */
export type DurabilityEstimator = (health: FileHealth, holders: readonly ObservedHolder[], now: number) => FileDurability

/**
 * Per-file durability estimates from the peer book: each healthy holder's departure rate
 * from its observed age and uptime (departure-estimate.ts), their mean for the file, and
 * the loss model run from the file's health now with the repair service's timers. The
 * mean rate is rounded up to two significant digits, so files alike share one computation
 * (under a millisecond for 6+6) and a listing of many files stays fast.
 */
export function durabilityEstimator (timing: RepairTiming, prior: DeparturePrior = DEFAULT_DEPARTURE_PRIOR): DurabilityEstimator {
  const cache = new Map<string, number>()
  return (health, holders, now) => {
    // an empty file keeps no piece to lose
    if (health.total === 0) return { lossPerYear: 0, holderDeparturesPerYear: fileDepartureRate([], prior) * YEAR_MS }
    const rate = upToTwoDigits(fileDepartureRate(holders.map((h) => departureRate(h, now, prior)), prior))
    const key = `${health.needed} ${health.total} ${health.healthy} ${rate}`
    let loss = cache.get(key)
    if (loss === undefined) {
      loss = fileLoss({ data: health.needed, shards: health.total, healthy: Math.min(health.healthy, health.total), departureRate: rate }, timing)
      if (cache.size >= CACHE_LIMIT) cache.clear()
      cache.set(key, loss)
    }
    return { lossPerYear: loss, holderDeparturesPerYear: rate * YEAR_MS }
  }
}

/**
 * `rate` rounded up to two significant digits. Up: the loss grows as the rate to the
 * power m + 1 (the 7th for 6+6), so rounding 1.049 down to 1.0 would show a third less.
 */
function upToTwoDigits (rate: number): number {
  const nearest = Number(rate.toPrecision(2))
  if (!(rate > 0) || nearest >= rate) return nearest
  return Number((nearest + 10 ** (Math.floor(Math.log10(nearest)) - 1)).toPrecision(2))
}
