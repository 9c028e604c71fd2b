import { InvalidInputError } from '../../errors.ts'
import { finiteCount } from '../../util/counts.ts'

/** The model's month and year (the published figures use these). */
export const MONTH_MS = 30 * 24 * 3_600_000
export const YEAR_MS = 365 * 24 * 3_600_000

/** λ per ms for a federation where `monthly` of the nodes leave for good each month (0.1: Storj's 10 %). */
export function churnRate (monthly: number): number {
  if (!(monthly >= 0) || !Number.isFinite(monthly)) throw new InvalidInputError(`monthly churn is a non-negative fraction, got ${monthly}`)
  return monthly / MONTH_MS
}

/**
 * What the owner believes of a holder it has not watched long: it leaves at this rate
 * until its own history says otherwise. A Gamma(`weight`, `weight / rate`) prior over
 * the holder's departure rate: `weight` departures' worth of evidence.
 */
export interface DeparturePrior {
  /** λ₀ per ms: the prior mean. The default is Storj's 10 % a month, the pessimistic end. */
  rate: number
  /** Pseudo-departures the prior weighs as; 1 means a newcomer's first 10 months (at 10 %) halve it. */
  weight: number
  /** No holder is believed to leave slower than this, whatever its history (disks die too). */
  floor: number
}

export const DEFAULT_DEPARTURE_PRIOR: DeparturePrior = { rate: churnRate(0.1), weight: 1, floor: churnRate(0.005) }

/** What the peer book observed of a holder (PlacementCandidate's reputation fields). */
export interface ObservedHolder {
  /** When this node first recorded it, ms since the epoch; absent: a newcomer. */
  firstSeen?: number
  /** Liveness probes made, and answered. */
  probes?: number
  successes?: number
}

/**
 * A holder's departure rate, per ms: the posterior mean of the prior after watching it
 * stay for its age weighted by its observed uptime, λ̂ = a / (a/λ₀ + age × uptime), at
 * least the prior's floor. A holder seen for two years at 95 % uptime comes to ~3 % a
 * month; a newcomer keeps λ₀. Uptime is Laplace-smoothed, (successes + 1) / (probes + 2),
 * as placement's reputation reads it: time a holder was away is no evidence that it stays.
 */
export function departureRate (holder: ObservedHolder, now: number, prior: DeparturePrior = DEFAULT_DEPARTURE_PRIOR): number {
  const probes = finiteCount(holder.probes)
  const successes = Math.min(probes, finiteCount(holder.successes))
  const uptime = (successes + 1) / (probes + 2)
  const age = holder.firstSeen !== undefined && Number.isFinite(holder.firstSeen) ? Math.max(0, now - holder.firstSeen) : 0
  return Math.max(prior.floor, prior.weight / (prior.weight / prior.rate + age * uptime))
}

/**
 * The one rate the model gives every holder of a file: the mean of theirs. For the
 * leading term of the loss probability (m + 1 holders leaving within one repair) the
 * sum over holder sets of their rates' product is at most what the mean gives
 * (Maclaurin's inequality), so a mixed file is not made to look safer than it is.
 */
export function fileDepartureRate (rates: readonly number[], prior: DeparturePrior = DEFAULT_DEPARTURE_PRIOR): number {
  if (rates.length === 0) return prior.rate
  return rates.reduce((sum, r) => sum + r, 0) / rates.length
}
