import { DEFAULT_CONFIG } from '../config/node-config.ts'
import { churnRate, YEAR_MS } from './departure-estimate.ts'
import { lossProbability, type LossModel } from './loss-model.ts'

/** The repair service's timers (config keys `repairAfter` and `auditEvery`). */
export interface RepairTiming {
  repairAfterMs: number
  auditEveryMs: number
}

/**
 * The mean repair times of the repair service (src/app/owner/repair-service.ts), as the
 * model's exponential delays. A holder that left is marked missing at the next round
 * (half a round on average), is lost once missing for repairAfter, and is rebuilt at the
 * first round after that: `auditEvery/2 + ceil(repairAfter/auditEvery) × auditEvery`
 * (24.5 h with the defaults). When a stripe is down to k healthy shards the round that
 * sees it rebuilds at once: `auditEvery/2`. An exponential delay is more pessimistic
 * than the service's nearly fixed one: losing m more holders within it weighs its m-th
 * moment, m! times that of a fixed delay of the same mean.
 */
export function serviceRepairTimes (timing: RepairTiming): { repairMs: number, urgentRepairMs: number } {
  const round = Math.max(1, timing.auditEveryMs)
  return {
    repairMs: round / 2 + Math.ceil(Math.max(0, timing.repairAfterMs) / round) * round,
    urgentRepairMs: round / 2
  }
}

/** A file as `ls` sees it, for its estimate. */
export interface FileState {
  /** k (1 for copies) and n. */
  data: number
  shards: number
  /** Healthy shards of the worst stripe now. */
  healthy: number
  /** λ for the file's holders, per ms (departure-estimate.ts). */
  departureRate: number
}

/** P(the file is lost within the next `horizonMs`, default a year), repaired as the service repairs. */
export function fileLoss (file: FileState, timing: RepairTiming, horizonMs = YEAR_MS): number {
  return lossProbability({ data: file.data, shards: file.shards, departureRate: file.departureRate, ...serviceRepairTimes(timing) }, horizonMs, file.healthy)
}

/** How a whole file of a scheme is kept, for the tables of docs/durability.md and the churn simulation. */
export interface SchemeLoss {
  /** k (1 for copies) and m. */
  data: number
  parity: number
  /** Fraction of the nodes that leave for good each month. */
  monthlyChurn: number
  /**
   * `service`: the repair service's timers (`timing`, default the config's defaults);
   * a number: repair when healthy ≤ that, with mean `repairMs`; `none`: never repaired.
   */
  repair: 'service' | 'none' | number
  timing?: RepairTiming
  repairMs?: number
}

/** The timers a node runs with unless configured otherwise. */
export const DEFAULT_TIMING: RepairTiming = { repairAfterMs: DEFAULT_CONFIG.repairAfter, auditEveryMs: DEFAULT_CONFIG.auditEvery }

/** P(a whole file of the scheme is lost within a year). */
export function schemeLossPerYear (scheme: SchemeLoss): number {
  const base = { data: scheme.data, shards: scheme.data + scheme.parity, departureRate: churnRate(scheme.monthlyChurn) }
  const model: LossModel = scheme.repair === 'none'
    ? base
    : scheme.repair === 'service'
      ? { ...base, ...serviceRepairTimes(scheme.timing ?? DEFAULT_TIMING) }
      : { ...base, repairAt: scheme.repair, repairMs: scheme.repairMs ?? 24 * 3_600_000 }
  return lossProbability(model, YEAR_MS)
}
