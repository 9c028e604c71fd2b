import { randomInt } from 'node:crypto'
import { InvalidInputError } from '../../errors.ts'

/**
 * Where to store the replicas of a chunk (or of a whole file): `replicas` distinct
 * holders drawn at random among the eligible candidates, each with probability
 * proportional to its free capacity.
 *
 * Successive weighted sampling without replacement: the first holder is candidate i
 * with probability w_i / W (W the sum of the weights), the next is drawn the same way
 * among the candidates left, and so on. A node offering twice the free space gets
 * about twice the chunks, so the federation fills evenly, while randomness keeps
 * replicas of one file apart and no placement predictable.
 *
 * Eligible: reachable, at least `neededBytes` free (and more than zero), not in
 * `exclude` (the owner's own node, holders that already have the chunk), with a
 * finite free-space figure. Candidate lists come from the network, so bad entries
 * (negative, NaN, repeated peer ids) are skipped rather than trusted or thrown on.
 * Fewer eligible candidates than `replicas` is not an error: all of them are chosen
 * and `underReplicated` says so, for the caller to store now and repair later.
 *
 * Free space is what each peer says about itself. `maxWeightBytes` caps the weight so
 * one peer announcing an absurd capacity cannot draw every first replica to itself.
 */

export interface PlacementCandidate {
  /** Peer id, text form. */
  peerId: string
  /** Free capacity it offers, bytes. */
  freeBytes: number
  /** Whether it can be dialled now. */
  reachable: boolean
}

export interface PlacementRequest {
  /** How many distinct holders are wanted (the replication factor). */
  replicas: number
  /** Bytes to store on each holder. */
  neededBytes: number
  /** Peers not to choose. */
  exclude?: Iterable<string>
  /** Weight of a candidate is min(freeBytes, maxWeightBytes); default no cap. */
  maxWeightBytes?: number
  /** Uniform in [0, 1); injectable so tests are deterministic. Default: node:crypto. */
  random?: () => number
}

export interface Placement {
  /** Distinct peer ids, in the order drawn. */
  holders: string[]
  /** True when fewer than `replicas` holders could be chosen. */
  underReplicated: boolean
}

/** randomInt's largest range: 48 bits. */
const RANDOM_RANGE = 2 ** 48 - 1

function cryptoRandom (): number {
  return randomInt(RANDOM_RANGE) / RANDOM_RANGE
}

export function choosePlacement (candidates: readonly PlacementCandidate[], request: PlacementRequest): Placement {
  const { replicas, neededBytes } = request
  if (!Number.isSafeInteger(replicas) || replicas < 0) throw new InvalidInputError(`replicas must be a non-negative integer, got ${replicas}`)
  if (!Number.isSafeInteger(neededBytes) || neededBytes < 0) throw new InvalidInputError(`neededBytes must be a non-negative integer, got ${neededBytes}`)
  const cap = request.maxWeightBytes ?? Number.POSITIVE_INFINITY
  if (!(cap > 0)) throw new InvalidInputError('maxWeightBytes must be positive')
  const random = request.random ?? cryptoRandom

  const excluded = new Set(request.exclude ?? [])
  const pool: Array<{ peerId: string, weight: number }> = []
  for (const c of candidates) {
    if (excluded.has(c.peerId)) continue
    excluded.add(c.peerId) // a repeated peer id counts once: its first entry
    if (c.reachable !== true || typeof c.peerId !== 'string') continue
    if (!Number.isFinite(c.freeBytes) || !(c.freeBytes > 0) || c.freeBytes < neededBytes) continue
    pool.push({ peerId: c.peerId, weight: Math.min(c.freeBytes, cap) })
  }

  const holders: string[] = []
  let total = pool.reduce((sum, c) => sum + c.weight, 0)
  while (holders.length < replicas && pool.length > 0) {
    const r = random()
    if (!(r >= 0 && r < 1)) throw new InvalidInputError(`random() must return a number in [0, 1), got ${r}`)
    const at = pick(pool, r * total)
    const [chosen] = pool.splice(at, 1)
    holders.push(chosen!.peerId)
    // summed again rather than decremented: no drift from floating-point subtraction
    total = pool.reduce((sum, c) => sum + c.weight, 0)
  }
  return { holders, underReplicated: holders.length < replicas }
}

/** The index whose cumulative weight first exceeds `target`. */
function pick (pool: ReadonlyArray<{ weight: number }>, target: number): number {
  let cumulative = 0
  for (let i = 0; i < pool.length; i++) {
    cumulative += pool[i]!.weight
    if (target < cumulative) return i
  }
  // rounding can leave target a hair above the sum: the last candidate
  return pool.length - 1
}
