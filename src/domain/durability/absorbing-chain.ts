import { InvalidInputError } from '../../errors.ts'

/** A step of the uniformised chain spans at most this many expected events... */
const STEP_EVENTS = 0.5
/** ...so that a Taylor series of this many terms leaves a tail below 1e-40 of a step. */
const STEP_TERMS = 32

/**
 * P(a continuous-time Markov chain with generator `q` (rows sum to 0, off-diagonal ≥ 0)
 * that starts in state `start` is in state `absorbing` at `horizonMs`); the absorbing
 * state's row is all zero, so this is the chance of having reached it by then.
 *
 * Computed by uniformisation and squaring: the transition matrix of a short step is a
 * Poisson mixture of powers of the non-negative matrix I + Q/Λ, and the horizon is 2^s
 * such steps multiplied together. Every sum adds non-negative terms, so a probability of
 * 1e-15 carries the same relative precision as one of 0.3: there is no `1 - survival`
 * to cancel, as exp(Q·t) by Padé or eigenvalues would have.
 */
export function absorbedWithin (q: readonly (readonly number[])[], start: number, absorbing: number, horizonMs: number): number {
  if (!(horizonMs >= 0) || !Number.isFinite(horizonMs)) throw new InvalidInputError(`a horizon is a non-negative number of ms, got ${horizonMs}`)
  const size = q.length
  if (!(start >= 0 && start < size && absorbing >= 0 && absorbing < size)) throw new InvalidInputError(`states are 0..${size - 1}, got ${start} and ${absorbing}`)
  if (start === absorbing) return 1
  const rate = Math.max(...q.map((row, j) => -row[j]!))
  if (rate === 0 || horizonMs === 0) return 0
  const squarings = Math.max(0, Math.ceil(Math.log2((rate * horizonMs) / STEP_EVENTS)))
  let p = stepMatrix(q, rate, horizonMs / 2 ** squarings)
  for (let s = 0; s < squarings; s++) p = multiply(p, p)
  return Math.min(1, p[start]![absorbing]!)
}

/** exp(Q·t) for Λt ≤ STEP_EVENTS: e^{-Λt} Σ (Λt)^j / j! U^j with U = I + Q/Λ ≥ 0. */
function stepMatrix (q: readonly (readonly number[])[], rate: number, t: number): number[][] {
  const size = q.length
  // U's diagonal may round a hair below zero; a probability is never negative
  const u = q.map((row, r) => row.map((x, c) => Math.max(0, (r === c ? 1 : 0) + x / rate)))
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

function multiply (a: readonly (readonly number[])[], b: readonly (readonly number[])[]): number[][] {
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

/** A generator's row made whole: its diagonal is minus the sum of the rest. */
export function closeRows (q: number[][]): number[][] {
  for (let j = 0; j < q.length; j++) q[j]![j] = -q[j]!.reduce((sum, r, c) => c === j ? sum : sum + r, 0)
  return q
}
