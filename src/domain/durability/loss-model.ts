import { InvalidInputError } from '../../errors.ts'
import { absorbedWithin, closeRows } from './absorbing-chain.ts'

/**
 * The chance that one file is lost within a horizon, from a continuous-time Markov chain
 * of its shards (docs/durability.md).
 *
 * The state is the number `i` of healthy shards of the file's worst stripe, from `n`
 * down to `k - 1`, where the file is lost (absorbing). Each healthy holder leaves for
 * good at rate λ, independently: `i → i - 1` at rate `iλ`. Once `i` is at or below
 * `repairAt`, a repair that rebuilds every missing shard at once (what the repair
 * service does in one round) takes an exponential time of mean `repairMs`:
 * `i → n` at rate `1 / repairMs`; at `i = k` the faster `urgentRepairMs` applies when
 * given (the service then rebuilds what is merely unreachable without waiting for
 * repairAfter). A replicated file is the case `k = 1`.
 */
export interface LossModel {
  /** k: healthy shards a stripe needs (1 for copies). */
  data: number
  /** n = k + m: shards a stripe has when whole (the copies, for a replicated file). */
  shards: number
  /** λ: rate at which one holder leaves for good, per millisecond. */
  departureRate: number
  /** Repair runs once healthy shards are at or below this; default n - 1 (at the first loss) when repairMs is given. */
  repairAt?: number
  /** Mean time from the start of a repair episode until every shard is back, ms; absent: no repair. */
  repairMs?: number
  /** Mean repair time once a stripe is down to k healthy shards, ms; default repairMs. */
  urgentRepairMs?: number
}

/**
 * P(the file is lost within `horizonMs`), starting from `healthy` shards (default n),
 * by absorbing-chain.ts: no `1 - survival` to cancel, so 1e-15 keeps its digits.
 */
export function lossProbability (model: LossModel, horizonMs: number, healthy?: number): number {
  const { data: k, shards: n } = checkModel(model)
  const start = healthy ?? n
  if (!Number.isInteger(start) || start > n) throw new InvalidInputError(`healthy shards are an integer of at most ${n}, got ${start}`)
  if (start < k) return 1
  const q = generator(model)
  return absorbedWithin(q, n - start, q.length - 1, horizonMs)
}

/** The generator over states j = n - i (j = 0: whole; the last: lost). */
function generator (model: LossModel): number[][] {
  const { data: k, shards: n, departureRate: lambda } = model
  const size = n - k + 2
  const q = Array.from({ length: size }, () => new Array<number>(size).fill(0))
  const repairAt = model.repairMs === undefined ? -1 : model.repairAt ?? n - 1
  for (let j = 0; j < size - 1; j++) {
    const i = n - j
    q[j]![j + 1]! += i * lambda
    if (i < n && i <= repairAt) {
      const ms = i === k ? model.urgentRepairMs ?? model.repairMs! : model.repairMs!
      q[j]![0]! += 1 / ms
    }
  }
  return closeRows(q)
}

export function checkModel (model: LossModel): LossModel {
  const { data, shards, departureRate, repairMs, urgentRepairMs } = model
  if (!Number.isInteger(data) || data < 1 || !Number.isInteger(shards) || shards < data || shards > 256) {
    throw new InvalidInputError(`a loss model has 1 ≤ k ≤ n ≤ 256 shards, got k=${data} n=${shards}`)
  }
  if (!(departureRate >= 0) || !Number.isFinite(departureRate)) throw new InvalidInputError(`a departure rate is a non-negative number, got ${departureRate}`)
  for (const [name, ms] of [['repairMs', repairMs], ['urgentRepairMs', urgentRepairMs]] as const) {
    if (ms !== undefined && !(ms > 0 && Number.isFinite(ms))) throw new InvalidInputError(`${name} is a positive number of ms, got ${ms}`)
  }
  return model
}
