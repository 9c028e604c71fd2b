import { BusyError } from '../../domain/protocol/federation-errors.ts'

export interface FairQueueLimits {
  /** Jobs one requester may have waiting. */
  perRequester: number
  /** Jobs one subnet may have waiting, all its requesters together. */
  perSubnet: number
  /** Jobs waiting in all. */
  total: number
}

export interface QueuedRequester {
  peer: string
  subnet?: string
  /**
   * Served ahead of every requester without it (a peer with standing: trusted,
   * reciprocal, or one whose last proof verified). Its own lanes keep the same limits.
   */
  priority?: boolean
}

/** subnet -> requester -> jobs; Map order is the round-robin order. */
type Lanes<T> = Map<string, Map<string, T[]>>

/**
 * A queue served in turn: by subnet first, then by requester within a subnet, each
 * FIFO. A requester (or a subnet of many cheap identities) that floods the queue fills
 * only its own lane, and every other lane still gets one turn in each round.
 * Requesters with priority have lanes of their own, served first: strangers cannot
 * make a peer with standing wait behind them, however many lanes they fill.
 * Over-limit pushes are refused with BusyError rather than queued without bound.
 */
export class FairQueue<T> {
  private readonly limits: FairQueueLimits
  private readonly first: Lanes<T> = new Map()
  private readonly rest: Lanes<T> = new Map()
  private waiting = 0

  constructor (limits: FairQueueLimits) {
    this.limits = limits
  }

  get size (): number {
    return this.waiting
  }

  /**
   * Queues `job`; BusyError when its lane or its subnet's is full. When every slot is
   * taken, a job of a subnet with fewer waiting takes the place of the newest job of the
   * subnet with the most, which is returned for the caller to refuse: `total` is shared,
   * and a flood spread over many subnets (an IPv6 /56 holds 256 /64s) would otherwise
   * keep every newcomer out. A job with priority takes the place of a job without first.
   */
  push (requester: QueuedRequester | undefined, job: T): T | undefined {
    const lanes = requester?.priority === true ? this.first : this.rest
    const subnetKey = requester?.subnet ?? requester?.peer ?? ''
    const peerKey = requester?.peer ?? ''
    const subnet = lanes.get(subnetKey) ?? new Map<string, T[]>()
    const lane = subnet.get(peerKey) ?? []
    const subnetWaiting = waitingIn(subnet)
    // the node's own callers name no requester: only the total bounds them
    if (requester !== undefined && subnetWaiting >= this.limits.perSubnet) throw new BusyError('too many proofs from this network are waiting to be verified')
    if (requester !== undefined && lane.length >= this.limits.perRequester) throw new BusyError('too many of this peer\'s proofs are waiting to be verified')
    let evicted: T | undefined
    if (this.waiting >= this.limits.total) {
      evicted = lanes === this.first ? this.evictFromMoreThan(this.rest, 0) : undefined
      evicted ??= this.evictFromMoreThan(lanes, subnetWaiting + 1)
    }
    if (this.waiting >= this.limits.total) throw new BusyError('the node has too many proofs waiting to be verified; retry after a pause')
    lane.push(job)
    subnet.set(peerKey, lane)
    lanes.set(subnetKey, subnet)
    this.waiting++
    return evicted
  }

  /** The next job in turn, priority lanes first; the lanes it came from move to the back. */
  shift (): T | undefined {
    const job = shiftFrom(this.first) ?? shiftFrom(this.rest)
    if (job !== undefined) this.waiting--
    return job
  }

  /** Removes `job` if it still waits (its caller gave up). */
  remove (job: T): boolean {
    const removed = removeFrom(this.first, job) || removeFrom(this.rest, job)
    if (removed) this.waiting--
    return removed
  }

  /** The newest job of the busiest lane of the subnet with the most waiting in `lanes`, removed, if that subnet has more than `than`. */
  private evictFromMoreThan (lanes: Lanes<T>, than: number): T | undefined {
    let busiest: Map<string, T[]> | undefined
    for (const subnet of lanes.values()) if (busiest === undefined || waitingIn(subnet) > waitingIn(busiest)) busiest = subnet
    if (busiest === undefined || waitingIn(busiest) <= than) return undefined
    let lane: T[] = []
    for (const l of busiest.values()) if (l.length > lane.length) lane = l
    const job = lane[lane.length - 1]!
    this.remove(job)
    return job
  }
}

function shiftFrom<T> (lanes: Lanes<T>): T | undefined {
  for (const [subnetKey, subnet] of lanes) {
    for (const [peerKey, lane] of subnet) {
      const job = lane.shift()
      subnet.delete(peerKey)
      if (lane.length > 0) subnet.set(peerKey, lane)
      lanes.delete(subnetKey)
      if (subnet.size > 0) lanes.set(subnetKey, subnet)
      if (job !== undefined) return job
    }
  }
  return undefined
}

function removeFrom<T> (lanes: Lanes<T>, job: T): boolean {
  for (const [subnetKey, subnet] of lanes) {
    for (const [peerKey, lane] of subnet) {
      const at = lane.indexOf(job)
      if (at === -1) continue
      lane.splice(at, 1)
      if (lane.length === 0) subnet.delete(peerKey)
      if (subnet.size === 0) lanes.delete(subnetKey)
      return true
    }
  }
  return false
}

function waitingIn<T> (subnet: Map<string, T[]>): number {
  let n = 0
  for (const lane of subnet.values()) n += lane.length
  return n
}
