import { randomInt } from 'node:crypto'
import { defineError, InvalidInputError } from '../../errors.ts'
import { addCount, finiteCount } from '../../util/counts.ts'
import { placementGroupsOf } from './placement-groups.ts'
import { isSiteName } from './site.ts'

/**
 * Where to store the replicas of a chunk (or of a whole file): `replicas` distinct
 * holders drawn at random among the eligible candidates, by weight, under spread caps.
 *
 * Nothing a peer says about itself buys it copies. Announced free space only decides
 * eligibility (at least `neededBytes`) and, up to a ceiling of a few times the need,
 * a weight factor: a peer announcing 8 PB weighs as much as one announcing 64 GiB.
 * The rest of the weight is reputation from what this node observed: the share of
 * liveness probes the peer answered (Laplace-smoothed, so an unprobed peer counts
 * 1/2) and its age in the book (a newcomer weighs 1/4 of a peer known for
 * `matureAfterMs`). Successive weighted sampling without replacement then draws the
 * holders, so no placement is predictable and an attacker's ids win only their share.
 *
 * Spread caps, per placement of `replicas` copies:
 * - at most max(1, floor(replicas × maxSubnetShare)) holders in one public IPv4 /24 or
 *   IPv6 /48 (a peer with addresses in several subnets counts in each), and as many
 *   of the `trusted` peers declaring one `site`. Strict: a file is left
 *   under-replicated rather than concentrated in one subnet or site.
 * - as many, softly, of the other peers declaring one site (a claim anyone can copy:
 *   placement-groups.ts says why it may not exclude anyone).
 * - as many in one soft group (placement-groups.ts): the peers reached only through
 *   relays in one subnet, and all peers with no public address together. Soft: while
 *   any other candidate fits, one is drawn; only then are soft groups filled past
 *   their share, and `underDiversified` says so.
 * - at most max(1, floor(replicas × maxNewCohortShare)) holders first seen within
 *   `newCohortMs` (or with no first-seen time) while established peers remain
 *   eligible. Soft: a young federation, where everyone is new, still gets its copies.
 *
 * Eligible: reachable, at least `neededBytes` free (and more than zero), not in
 * `exclude`, with finite figures. Candidate lists come from the network, so bad
 * entries (negative, NaN, repeated peer ids) are skipped rather than trusted or thrown
 * on. Fewer holders than `replicas` is not an error: `underReplicated` says so.
 */

export interface PlacementCandidate {
  /** Peer id, text form. */
  peerId: string
  /** Free capacity it announces, bytes. */
  freeBytes: number
  /** Whether it can be dialled now. */
  reachable: boolean
  /** When this node first recorded it (ms since the epoch); absent: a newcomer. */
  firstSeen?: number
  /** Liveness probes this node made of it, and how many it answered. */
  probes?: number
  successes?: number
  /** Its addresses, as this node knows them, for the subnet cap. */
  addresses?: readonly string[]
  /**
   * The site its operator declares (one household, one flat): capped like a subnet, so
   * that one flat's boxes behind different ISPs still count as one failure domain.
   */
  site?: string
  /**
   * Whether this node's operator trusts the peer (`quloud trust`): only then is its
   * site a strict group; a stranger's is soft (placement-groups.ts).
   */
  trusted?: boolean
}

export interface PlacementPolicy {
  /** Announced free space weighs at most this much (and at most NEED_MULTIPLE × the need). */
  maxWeightBytes: number
  /** Share of one placement's copies that may sit in one public subnet. */
  maxSubnetShare: number
  /** Share of one placement's copies that may go to the new cohort while older peers are eligible. */
  maxNewCohortShare: number
  /** Peers first seen less than this long ago are the new cohort. */
  newCohortMs: number
  /** Age at which a peer's reputation stops growing. */
  matureAfterMs: number
}

export const DEFAULT_PLACEMENT_POLICY: Readonly<PlacementPolicy> = Object.freeze({
  maxWeightBytes: 64 * 2 ** 30,
  maxSubnetShare: 1 / 3,
  maxNewCohortShare: 1 / 3,
  newCohortMs: 60 * 60_000,
  matureAfterMs: 7 * 24 * 60 * 60_000
})

export interface PlacementRequest {
  /** How many distinct holders are wanted (the replication factor). */
  replicas: number
  /** Bytes to store on each holder. */
  neededBytes: number
  /** Peers not to choose. */
  exclude?: Iterable<string>
  /**
   * Holders allowed in one public subnet, below the policy's share when less (an
   * erasure-coded stripe must not have more than its parity count in one subnet).
   */
  maxPerSubnet?: number
  /**
   * Holders that already keep the rest of this placement (a repair replacing some of a
   * file's holders): never chosen, and counted against the subnet and site caps as if
   * drawn first, the caps being those of the whole placement (`replicas` + these).
   */
  placed?: readonly PlacementCandidate[]
  /** Overrides of DEFAULT_PLACEMENT_POLICY. */
  policy?: Partial<PlacementPolicy>
  /** Now, ms since the epoch, for ages. Default Date.now(). */
  now?: number
  /** Uniform in [0, 1); injectable so tests are deterministic. Default: node:crypto. */
  random?: () => number
}

export interface Placement {
  /** Distinct peer ids, in the order drawn. */
  holders: string[]
  /** True when fewer than `replicas` holders could be chosen. */
  underReplicated: boolean
  /**
   * True when a soft group (one relay's subnet, or the peers without a public address)
   * holds more than its share: the federation had too few groups to spread the copies.
   */
  underDiversified: boolean
}

/** Free space beyond this multiple of the need buys no weight... */
const NEED_MULTIPLE = 16
/** ...nor below this floor, so small files do not rank peers by a few MB. */
const MIN_WEIGHT_CEILING = 2 ** 30
/** A newcomer's age factor; grows linearly to 1 at `matureAfterMs`. */
const NEWCOMER_FACTOR = 0.25

/** randomInt's largest range: 48 bits. */
const RANDOM_RANGE = 2 ** 48 - 1

function cryptoRandom (): number {
  return randomInt(RANDOM_RANGE) / RANDOM_RANGE
}

interface Eligible {
  peerId: string
  weight: number
  strict: string[]
  soft: string[]
  newcomer: boolean
}

export function choosePlacement (candidates: readonly PlacementCandidate[], request: PlacementRequest): Placement {
  const { replicas, neededBytes } = request
  if (!Number.isSafeInteger(replicas) || replicas < 0) throw new InvalidInputError(`replicas must be a non-negative integer, got ${replicas}`)
  if (!Number.isSafeInteger(neededBytes) || neededBytes < 0) throw new InvalidInputError(`neededBytes must be a non-negative integer, got ${neededBytes}`)
  const policy = checkPolicy({ ...DEFAULT_PLACEMENT_POLICY, ...request.policy })
  const random = request.random ?? cryptoRandom
  const now = request.now ?? Date.now()

  const placed = request.placed ?? []
  let pool = eligible(candidates, { ...request, exclude: [...(request.exclude ?? []), ...placed.map((p) => p.peerId)] }, policy, now)
  const subnetLimit = placementGroupShare(replicas + placed.length, { maxSubnetShare: policy.maxSubnetShare, parity: request.maxPerSubnet })
  const cohortLimit = Math.max(1, Math.floor(replicas * policy.maxNewCohortShare))
  // strict groups count their direct members; every group counts everyone in it, so a
  // relayed peer and a direct one of the same /24 share that /24's share while others fit
  const direct = new Map<string, number>()
  const all = new Map<string, number>()
  const under = (counts: Map<string, number>, groups: string[]): boolean => groups.every((g) => (counts.get(g) ?? 0) < subnetLimit)
  const spread = (c: Eligible): boolean => under(all, c.strict) && under(all, c.soft)
  const count = (groups: { strict: string[], soft: string[] }): void => {
    for (const g of groups.strict) addCount(direct, g, 1)
    for (const g of [...groups.strict, ...groups.soft]) addCount(all, g, 1)
  }
  for (const p of placed) count(groupsOf(p))
  let newcomers = 0
  let underDiversified = false

  const holders: string[] = []
  while (holders.length < replicas) {
    pool = pool.filter((c) => under(direct, c.strict))
    const diverse = pool.filter(spread)
    const tier = diverse.length > 0 ? diverse : pool
    const established = tier.some((c) => !c.newcomer)
    const open = newcomers >= cohortLimit && established ? tier.filter((c) => !c.newcomer) : tier
    if (open.length === 0) break
    const r = random()
    if (!(r >= 0 && r < 1)) throw new InvalidInputError(`random() must return a number in [0, 1), got ${r}`)
    const chosen = open[pick(open, r * open.reduce((sum, c) => sum + c.weight, 0))]!
    pool = pool.filter((c) => c !== chosen)
    holders.push(chosen.peerId)
    if (!spread(chosen)) underDiversified = true
    count(chosen)
    if (chosen.newcomer) newcomers++
  }
  return { holders, underReplicated: holders.length < replicas, underDiversified }
}

/** Too few eligible storage nodes for one shard of a stripe on each, within the subnet caps. */
export const ShardPlacementError = defineError('ShardPlacementError', 'shard-placement')
export type ShardPlacementError = InstanceType<typeof ShardPlacementError>

export interface ShardPlacementRequest extends Omit<PlacementRequest, 'replicas' | 'maxPerSubnet'> {
  /** Shards per stripe (k + m): one distinct holder each. */
  shards: number
  /** Parity shards (m): losing any one subnet must cost a stripe at most this many. */
  parity: number
}

/**
 * Holders for the shards of an erasure-coded file: `shards` distinct peers, one per
 * shard slot, drawn as choosePlacement draws replicas, with at most
 * max(1, min(floor(shards × maxSubnetShare), parity)) of them in one public /24 or /48
 * (or one declared site), so that no one subnet holds enough of a stripe to lose it; soft
 * groups (relayed peers, peers without a public address) get as many while others fit,
 * then fill, and `underDiversified` says so. Strict where replicas are not: a shard has
 * no second copy, so too few eligible peers throw ShardPlacementError rather than leave
 * a slot empty.
 */
export function chooseShardPlacement (candidates: readonly PlacementCandidate[], request: ShardPlacementRequest): Omit<Placement, 'underReplicated'> {
  const { shards, parity, ...rest } = request
  if (!Number.isSafeInteger(parity) || parity < 1 || parity >= shards) throw new InvalidInputError(`parity must be from 1 to shards - 1, got ${parity} of ${shards}`)
  const placement = choosePlacement(candidates, { ...rest, replicas: shards, maxPerSubnet: parity })
  if (placement.underReplicated) {
    throw new ShardPlacementError(`${shards} shards need ${shards} distinct storage nodes with ${request.neededBytes} bytes free, at most ${placementGroupShare(shards, { parity, maxSubnetShare: request.policy?.maxSubnetShare })} per subnet or site; found ${placement.holders.length}`)
  }
  return { holders: placement.holders, underDiversified: placement.underDiversified }
}

/**
 * The most holders of one placement of `holders` copies or shards that one group (a
 * public subnet, a trusted site) may take: max(1, floor(holders × maxSubnetShare)),
 * and for an erasure-coded stripe at most its `parity`, so that losing the group loses
 * no stripe.
 */
export function placementGroupShare (holders: number, options: { maxSubnetShare?: number, parity?: number } = {}): number {
  const share = Math.max(1, Math.floor(holders * (options.maxSubnetShare ?? DEFAULT_PLACEMENT_POLICY.maxSubnetShare)))
  return options.parity === undefined ? share : Math.max(1, Math.min(share, Math.floor(options.parity)))
}

/** The weight reputation gives: observed uptime times age. In (0, 1]. */
export function reputation (candidate: Pick<PlacementCandidate, 'firstSeen' | 'probes' | 'successes'>, now: number, matureAfterMs: number): number {
  const probes = finiteCount(candidate.probes)
  const successes = Math.min(finiteCount(candidate.successes), probes)
  const uptime = (successes + 1) / (probes + 2)
  const age = candidate.firstSeen !== undefined && Number.isFinite(candidate.firstSeen) ? Math.max(0, now - candidate.firstSeen) : 0
  return uptime * (NEWCOMER_FACTOR + (1 - NEWCOMER_FACTOR) * Math.min(1, age / matureAfterMs))
}

/** The groups a candidate counts in (placement-groups.ts): by its addresses and its declared site. */
function groupsOf (c: PlacementCandidate): { strict: string[], soft: string[] } {
  return placementGroupsOf(Array.isArray(c.addresses) ? c.addresses : [], isSiteName(c.site) ? c.site : undefined, c.trusted === true)
}

function eligible (candidates: readonly PlacementCandidate[], request: PlacementRequest, policy: PlacementPolicy, now: number): Eligible[] {
  const ceiling = Math.max(request.neededBytes, 1, Math.min(policy.maxWeightBytes, Math.max(request.neededBytes * NEED_MULTIPLE, MIN_WEIGHT_CEILING)))
  const excluded = new Set(request.exclude ?? [])
  const pool: Eligible[] = []
  for (const c of candidates) {
    if (excluded.has(c.peerId)) continue
    excluded.add(c.peerId) // a repeated peer id counts once: its first entry
    if (c.reachable !== true || typeof c.peerId !== 'string') continue
    if (!Number.isFinite(c.freeBytes) || !(c.freeBytes > 0) || c.freeBytes < request.neededBytes) continue
    const firstSeen = c.firstSeen !== undefined && Number.isFinite(c.firstSeen) ? c.firstSeen : undefined
    pool.push({
      peerId: c.peerId,
      weight: (Math.min(c.freeBytes, ceiling) / ceiling) * reputation(c, now, policy.matureAfterMs),
      ...groupsOf(c),
      newcomer: firstSeen === undefined || now - firstSeen < policy.newCohortMs
    })
  }
  return pool
}

function checkPolicy (policy: PlacementPolicy): PlacementPolicy {
  if (!(policy.maxWeightBytes > 0)) throw new InvalidInputError('maxWeightBytes must be positive')
  for (const share of ['maxSubnetShare', 'maxNewCohortShare'] as const) {
    if (!(policy[share] > 0 && policy[share] <= 1)) throw new InvalidInputError(`${share} must be in (0, 1], got ${policy[share]}`)
  }
  if (!(policy.newCohortMs >= 0) || !(policy.matureAfterMs > 0)) throw new InvalidInputError('newCohortMs must be non-negative and matureAfterMs positive')
  return policy
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
