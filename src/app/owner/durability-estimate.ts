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

/**
 * Per-file durability estimates from the peer book: each healthy holder's departure rate
 * from its observed age and uptime (departure-estimate.ts), their mean for the file, and
 * the loss model run from the file's health now with the repair service's timers. The
 * mean rate is rounded to two significant digits, so files alike share one computation
 * (~0.3 ms for 6+6) and a listing of many files stays fast.
 */
export class DurabilityEstimates {
  private readonly timing: RepairTiming
  private readonly prior: DeparturePrior
  private readonly cache = new Map<string, number>()

  constructor (timing: RepairTiming, prior: DeparturePrior = DEFAULT_DEPARTURE_PRIOR) {
    this.timing = timing
    this.prior = prior
  }

  /** The estimate of a file of `health` whose usable holders the peer book knows as `holders`. */
  of (health: FileHealth, holders: readonly ObservedHolder[], now: number): FileDurability {
    // an empty file keeps no piece to lose
    if (health.total === 0) return { lossPerYear: 0, holderDeparturesPerYear: fileDepartureRate([], this.prior) * YEAR_MS }
    const rate = Number(fileDepartureRate(holders.map((h) => departureRate(h, now, this.prior)), this.prior).toPrecision(2))
    const key = `${health.needed} ${health.total} ${health.healthy} ${rate}`
    let loss = this.cache.get(key)
    if (loss === undefined) {
      loss = fileLoss({ data: health.needed, shards: health.total, healthy: Math.min(health.healthy, health.total), departureRate: rate }, this.timing)
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear()
      this.cache.set(key, loss)
    }
    return { lossPerYear: loss, holderDeparturesPerYear: rate * YEAR_MS }
  }
}
