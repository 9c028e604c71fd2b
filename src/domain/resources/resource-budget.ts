import { ConfigError } from '../../errors.ts'
import { StreamRate, type StreamRateLimits } from './stream-rate.ts'

/**
 * Node-wide resource budgets, in the spirit of go-libp2p's resource manager: every
 * stream a peer opens and every byte the node buffers for it is reserved, before it is
 * buffered, in each scope it belongs to (node, its subnet, the peer, the protocol,
 * the stream itself), and a reservation that would take any scope past its limit is
 * refused as a whole. Nothing is charged by request count: what a peer costs is what
 * it makes the node hold.
 *
 * Peer ids are free, so the per-peer limit alone bounds nothing; the node and subnet
 * scopes bound the sum. Known peers (trusted, or stored with) must not be starved by
 * a flood of strangers: every node-wide scope has a twin that only strangers are
 * charged to, limited to `strangersShare` of it, so the rest stays for known peers.
 * Known peers are charged to no subnet scope either: a friend behind the same router
 * or relay as an attacker keeps its room.
 *
 * Strangers' streams are also paced per subnet (`strangerStreams`): a refused stream
 * still cost the node its first window, so how often they may be opened is a budget too.
 *
 * Pure accounting, synchronous: waiting for room is the caller's (see `onRelease`).
 */

export interface ScopeLimits {
  /** Bytes buffered at once. */
  memory: number
  /** Streams open at once. */
  streams: number
}

export interface BudgetLimits {
  node: ScopeLimits
  subnet: ScopeLimits
  peer: ScopeLimits
  /** Per protocol id, over all peers. */
  protocol: ScopeLimits
  /** Bytes one stream may hold at once. */
  streamMemory: number
  /** Fraction (0–1] of each node-wide limit all strangers together may use. */
  strangersShare: number
  /** New streams the strangers of one subnet may open (unset: not paced). */
  strangerStreams?: StreamRateLimits
}

/** Who a stream belongs to. */
export interface StreamOwner {
  peer: string
  /** Its public /24 or /48, else its address (subnet.ts); unused for known peers. */
  subnet: string
  protocol: string
  /** Trusted or reciprocal: charged to no strangers' or subnet scope. */
  known: boolean
  /** Its new stream was taken already, where the muxer made it (`takeNewStream`): not taken again. */
  counted?: boolean
}

export type Resource = 'memory' | 'streams' | 'new streams'

/** Why a reservation was refused: the first scope it would have overrun. */
export interface Refusal {
  readonly refused: true
  readonly scope: string
  readonly resource: Resource
  readonly used: number
  readonly limit: number
  readonly wanted: number
}

export interface Usage { memory: number, streams: number }
type Held = Exclude<Resource, 'new streams'>

/** Bytes held by one stream for one purpose; resizable once it knows its real size. */
export interface Reservation {
  readonly bytes: number
  /** Shrinks (always succeeds) or grows (may be refused, then nothing changes). */
  resize (bytes: number): Refusal | undefined
  /**
   * Moves `bytes` of this reservation into a new one of the same stream, which never
   * fails and changes no scope's use: bytes read ahead (reserved as they arrived) become
   * a frame the handler holds, without a moment where another stream could take them.
   */
  split (bytes: number): Reservation
  release (): void
}

interface Scope { key: string, limits: ScopeLimits }

/** The share of one protocol's strangers' streams and memory the strangers of one subnet may hold. */
export const SUBNET_PROTOCOL_SHARE = 0.25

export function isRefusal (value: unknown): value is Refusal {
  return typeof value === 'object' && value !== null && (value as Refusal).refused === true
}

export class ResourceBudget {
  readonly limits: BudgetLimits
  private readonly used = new Map<string, Usage>()
  private readonly listeners = new Set<() => void>()
  private readonly rate: StreamRate | undefined

  constructor (limits: BudgetLimits, now: () => number = Date.now) {
    checkLimits(limits)
    this.limits = limits
    this.rate = limits.strangerStreams === undefined ? undefined : new StreamRate(limits.strangerStreams, now)
  }

  /**
   * Admits a new stream of `owner`, or says which scope is full. A stranger's stream
   * takes one of its subnet's new streams first, admitted or not: opening it cost the
   * node already.
   */
  openStream (owner: StreamOwner): StreamBudget | Refusal {
    if (!owner.known && owner.counted !== true && this.rate !== undefined && !this.rate.take(owner.subnet)) {
      return { refused: true, scope: `subnet:${owner.subnet}`, resource: 'new streams', used: this.limits.strangerStreams!.burst, limit: this.limits.strangerStreams!.burst, wanted: 1 }
    }
    const scopes = this.scopesOf(owner)
    const refusal = this.tryAdd(scopes, 'streams', 1)
    if (refusal !== undefined) return refusal
    return new StreamBudget(this, scopes, this.limits.streamMemory)
  }

  /**
   * Counts one new stream of the strangers of `subnet` where the muxer made it, whatever
   * its protocol: true if the subnet had one; else false, and the stream still costs one,
   * into debt (down to one burst), as reading it did. Without that, a refused stream was
   * free, so each connection of a subnet over its rate was read again as soon as the
   * subnet had a stream to give, and the ids of one host had their streams read that
   * many times the rate (3 ids: ~110 streams a second against a rate of 32).
   */
  takeNewStream (subnet: string): boolean {
    if (this.rate === undefined || this.rate.take(subnet)) return true
    this.rate.penalise(subnet, 1)
    return false
  }

  /**
   * Charges the strangers of `subnet` `streams` new streams beyond those they opened
   * (a frame they never finished), down to one burst in debt; nothing without a rate.
   */
  penalise (subnet: string, streams: number): void {
    this.rate?.penalise(subnet, streams)
  }

  /** New streams the strangers of `subnet` may open now (Infinity without a rate; negative: in debt). */
  newStreamsOf (subnet: string): number {
    return this.rate?.balanceOf(subnet) ?? Infinity
  }

  /** What one scope holds now (`node`, `strangers:node`, `peer:<id>`, `subnet:<s>`, `protocol:<id>`). */
  usageOf (scope: string): Usage {
    const usage = this.used.get(scope)
    return { memory: usage?.memory ?? 0, streams: usage?.streams ?? 0 }
  }

  /** The node-wide use and limits, as `status` shows them. */
  nodeUsage (): { used: Usage, strangers: Usage, limits: ScopeLimits, strangersLimits: ScopeLimits } {
    return { used: this.usageOf('node'), strangers: this.usageOf('strangers:node'), limits: this.limits.node, strangersLimits: this.strangersLimitsOf(this.limits.node) }
  }

  /** Calls `listener` after every release; returns its removal. */
  onRelease (listener: () => void): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  /** @internal for StreamBudget */
  tryAdd (scopes: readonly Scope[], resource: Held, amount: number): Refusal | undefined {
    if (amount <= 0) return undefined
    for (const scope of scopes) {
      const used = this.usageOf(scope.key)[resource]
      const limit = scope.limits[resource]
      if (used + amount > limit) return { refused: true, scope: scope.key, resource, used, limit, wanted: amount }
    }
    for (const scope of scopes) {
      const usage = this.used.get(scope.key) ?? { memory: 0, streams: 0 }
      usage[resource] += amount
      this.used.set(scope.key, usage)
    }
    return undefined
  }

  /** @internal for StreamBudget */
  remove (scopes: readonly Scope[], resource: Held, amount: number): void {
    if (amount <= 0) return
    for (const scope of scopes) {
      const usage = this.used.get(scope.key)
      if (usage === undefined) continue
      usage[resource] = Math.max(0, usage[resource] - amount)
      // idle peers and subnets cost no memory
      if (usage.memory === 0 && usage.streams === 0) this.used.delete(scope.key)
    }
    for (const listener of [...this.listeners]) listener()
  }

  private scopesOf (owner: StreamOwner): Scope[] {
    const { node, protocol, peer, subnet } = this.limits
    const scopes: Scope[] = [
      { key: 'node', limits: node },
      { key: `protocol:${owner.protocol}`, limits: protocol },
      { key: `peer:${owner.peer}`, limits: peer }
    ]
    if (!owner.known) {
      scopes.push(
        { key: 'strangers:node', limits: this.strangersLimitsOf(node) },
        { key: `strangers:protocol:${owner.protocol}`, limits: this.strangersLimitsOf(protocol) },
        { key: `subnet:${owner.subnet}`, limits: subnet },
        { key: `subnet:${owner.subnet}:protocol:${owner.protocol}`, limits: this.subnetProtocolLimitsOf(protocol, subnet) }
      )
    }
    return scopes
  }

  /**
   * One subnet's strangers in one protocol: at most SUBNET_PROTOCOL_SHARE of that
   * protocol's strangers' streams and memory. A stream costs little until its peer sends
   * (what the muxer granted, 256 KiB), so streams held idle by the ids of two subnets
   * (128 each) filled a protocol's strangers' streams and refused every other stranger;
   * and frames held one byte short by the ids of one host kept the store protocol's
   * strangers' memory full (96 MiB), so an honest stranger put at a fifth of its speed.
   */
  private subnetProtocolLimitsOf (protocol: ScopeLimits, subnet: ScopeLimits): ScopeLimits {
    const strangers = this.strangersLimitsOf(protocol)
    return {
      memory: Math.min(subnet.memory, Math.max(1, Math.floor(strangers.memory * SUBNET_PROTOCOL_SHARE))),
      streams: Math.max(1, Math.floor(strangers.streams * SUBNET_PROTOCOL_SHARE))
    }
  }

  private strangersLimitsOf (limits: ScopeLimits): ScopeLimits {
    const share = this.limits.strangersShare
    return { memory: Math.floor(limits.memory * share), streams: Math.max(1, Math.floor(limits.streams * share)) }
  }
}

/**
 * One open stream's share of the budget: the stream itself, and the memory it
 * reserves, each charged to every scope of its owner. `close` gives everything back.
 */
export class StreamBudget {
  private readonly budget: ResourceBudget
  private readonly scopes: readonly Scope[]
  private held = 0
  private closed = false
  private readonly reservations = new Set<MemoryReservation>()

  private readonly streamMemory: number

  constructor (budget: ResourceBudget, scopes: readonly Scope[], streamMemory: number) {
    this.budget = budget
    this.scopes = scopes
    this.streamMemory = streamMemory
  }

  /** Bytes this stream holds now. */
  get heldBytes (): number {
    return this.held
  }

  /** Reserves `bytes` before they are buffered, or says which scope is full. */
  reserveMemory (bytes: number): Reservation | Refusal {
    if (this.closed) return { refused: true, scope: 'stream', resource: 'memory', used: 0, limit: 0, wanted: bytes }
    const refusal = this.add(bytes)
    if (refusal !== undefined) return refusal
    const reservation = new MemoryReservation(this, bytes)
    this.reservations.add(reservation)
    return reservation
  }

  /** Calls `listener` after every release of the node's budget (room may have come back); returns its removal. */
  onRelease (listener: () => void): () => void {
    return this.budget.onRelease(listener)
  }

  /** Releases the stream and every reservation still held. */
  close (): void {
    if (this.closed) return
    for (const reservation of [...this.reservations]) reservation.release()
    this.closed = true
    this.budget.remove(this.scopes, 'streams', 1)
  }

  /** @internal for MemoryReservation */
  add (bytes: number): Refusal | undefined {
    if (this.held + bytes > this.streamMemory) {
      return { refused: true, scope: 'stream', resource: 'memory', used: this.held, limit: this.streamMemory, wanted: bytes }
    }
    const refusal = this.budget.tryAdd(this.scopes, 'memory', bytes)
    if (refusal === undefined) this.held += bytes
    return refusal
  }

  /** @internal for MemoryReservation: a reservation of bytes already added */
  adopt (bytes: number): MemoryReservation {
    const reservation = new MemoryReservation(this, bytes)
    if (this.closed) reservation.release()
    else this.reservations.add(reservation)
    return reservation
  }

  /** @internal for MemoryReservation */
  sub (bytes: number, reservation?: MemoryReservation): void {
    this.held -= bytes
    if (reservation !== undefined) this.reservations.delete(reservation)
    this.budget.remove(this.scopes, 'memory', bytes)
  }
}

class MemoryReservation implements Reservation {
  private readonly owner: StreamBudget
  private size: number
  private released = false

  constructor (owner: StreamBudget, bytes: number) {
    this.owner = owner
    this.size = bytes
  }

  get bytes (): number {
    return this.released ? 0 : this.size
  }

  resize (bytes: number): Refusal | undefined {
    if (this.released) return undefined
    if (bytes < this.size) {
      this.owner.sub(this.size - bytes)
      this.size = bytes
      return undefined
    }
    const refusal = this.owner.add(bytes - this.size)
    if (refusal === undefined) this.size = bytes
    return refusal
  }

  split (bytes: number): Reservation {
    const moved = this.released ? 0 : Math.min(Math.max(0, bytes), this.size)
    this.size -= moved
    return this.owner.adopt(moved)
  }

  release (): void {
    if (this.released) return
    this.released = true
    this.owner.sub(this.size, this)
  }
}

function checkLimits (limits: BudgetLimits): void {
  const all = [limits.node, limits.subnet, limits.peer, limits.protocol].flatMap((l) => [l.memory, l.streams])
  if ([...all, limits.streamMemory].some((n) => !Number.isSafeInteger(n) || n < 1)) throw new ConfigError('every resource budget must be a positive whole number')
  if (!(limits.strangersShare > 0 && limits.strangersShare <= 1)) throw new ConfigError('the strangers\' share of a budget must be above 0 and at most 1')
  const rate = limits.strangerStreams
  if (rate !== undefined && !(rate.perSecond > 0 && rate.burst >= 1)) throw new ConfigError('strangers\' new streams need a positive rate and a burst of at least one')
}
