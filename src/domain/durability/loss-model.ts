import { InvalidInputError } from '../../errors.ts'

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

/** A step of the uniformised chain spans at most this many expected events... */
const STEP_EVENTS = 0.5
/** ...so that a Taylor series of this many terms leaves a tail below 1e-40 of a step. */
const STEP_TERMS = 32

/**
 * P(the file is lost within `horizonMs`), starting from `healthy` shards (default n).
 *
 * Computed as the absorbing entry of exp(Q·t) by uniformisation and squaring: the
 * transition matrix of a short step is a Poisson mixture of powers of the non-negative
 * matrix I + Q/Λ, and the horizon is 2^s such steps multiplied together. Every sum
 * adds non-negative terms, so a loss probability of 1e-15 carries the same relative
 * precision as one of 0.3: there is no `1 - survival` to cancel.
 */
export function lossProbability (model: LossModel, horizonMs: number, healthy?: number): number {
  const { data: k, shards: n } = checkModel(model)
  if (!(horizonMs >= 0) || !Number.isFinite(horizonMs)) throw new InvalidInputError(`a horizon is a non-negative number of ms, got ${horizonMs}`)
  const start = healthy ?? n
  if (!Number.isInteger(start) || start > n) throw new InvalidInputError(`healthy shards are an integer of at most ${n}, got ${start}`)
  if (start < k) return 1
  const q = generator(model)
  const size = q.length
  const rate = Math.max(...q.map((row, j) => -row[j]!))
  if (rate === 0 || horizonMs === 0) return 0
  const squarings = Math.max(0, Math.ceil(Math.log2((rate * horizonMs) / STEP_EVENTS)))
  const step = horizonMs / 2 ** squarings
  let p = stepMatrix(q, rate, step)
  for (let s = 0; s < squarings; s++) p = multiply(p, p)
  return Math.min(1, p[n - start]![size - 1]!)
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
    q[j]![j] = -q[j]!.reduce((sum, r, c) => c === j ? sum : sum + r, 0)
  }
  return q
}

/** exp(Q·t) for Λt ≤ STEP_EVENTS: e^{-Λt} Σ (Λt)^j / j! U^j with U = I + Q/Λ ≥ 0. */
function stepMatrix (q: number[][], rate: number, t: number): number[][] {
  const size = q.length
  const u = q.map((row, r) => row.map((x, c) => (r === c ? 1 : 0) + x / rate))
  // U's diagonal may round a hair below zero; a probability is never negative
  for (const row of u) for (let c = 0; c < size; c++) row[c] = Math.max(0, row[c]!)
  const x = rate * t
  let power = identity(size)
  let weight = Math.exp(-x)
  const sum = power.map((row) => row.map((v) => v * weight))
  for (let j = 1; j <= STEP_TERMS; j++) {
    power = multiply(power, u)
    weight *= x / j
    for (let r = 0; r < size; r++) for (let c = 0; c < size; c++) sum[r]![c]! += weight * power[r]![c]!
  }
  return sum
}

function identity (size: number): number[][] {
  return Array.from({ length: size }, (_, r) => Array.from({ length: size }, (_, c) => r === c ? 1 : 0))
}

function multiply (a: number[][], b: number[][]): number[][] {
  const size = a.length
  const out = Array.from({ length: size }, () => new Array<number>(size).fill(0))
  for (let r = 0; r < size; r++) {
    const row = out[r]!
    for (let m = 0; m < size; m++) {
      const x = a[r]![m]!
      if (x === 0) continue
      const other = b[m]!
      for (let c = 0; c < size; c++) row[c]! += x * other[c]!
    }
  }
  return out
}

function checkModel (model: LossModel): LossModel {
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
