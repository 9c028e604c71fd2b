/** What the gate says of an announcement from a peer not in the book. */
export type NewcomerVerdict =
  /** Queued: dial it. */
  | 'queued'
  /** Already waiting for its dial: nothing to do. */
  | 'pending'
  /** Dialled within the window without an answer: not dialled again yet, and not counted. */
  | 'unanswered'
  /** The relaying peer introduced too many new identities this window: penalise it. */
  | 'over-quota'
  /** The unverified set is full: drop it (a correct relayer can cause this). */
  | 'full'

export interface NewcomerGateInit {
  /** New identities one relaying peer may introduce per window. */
  perRelayer: number
  windowMs: number
  /** Size of the unverified set: announcements waiting for their dial. */
  maxPending: number
}

/** Relayers tracked at most; beyond it, expired windows are swept. */
const MAX_RELAYERS = 4096
/** Unanswered ids remembered at most, per slot of the unverified set. */
const UNANSWERED_PER_SLOT = 16

/**
 * Stands between gossip and the peer book. An announcement of an unknown peer is only
 * a claim: it waits in a small bounded "unverified" set until the peer answers a dial
 * (then the book admits it) or does not (then it is forgotten). Each relaying peer (the
 * gossip connection it came over, whoever signed it) may introduce only `perRelayer`
 * new identities per window, so one connection cannot fill the set with forged ids,
 * and what it sends beyond that is reported against it. A peer whose dial went
 * unanswered is not dialled again within the window, and its announcements in that time
 * do not count against the relayer: an honest neighbour forwarding a peer that this node
 * cannot reach (behind NAT) every announce interval must not pay for it.
 */
export class NewcomerGate {
  private readonly init: NewcomerGateInit
  private readonly pending = new Set<string>()
  private readonly windows = new Map<string, { start: number, count: number }>()
  /** Peer id -> when its dial went unanswered; insertion order is age order. */
  private readonly unanswered = new Map<string, number>()

  constructor (init: NewcomerGateInit) {
    this.init = init
  }

  get size (): number {
    return this.pending.size
  }

  /** Judges the announcement of `peerId` relayed by `relayer`; on 'queued' the caller dials it and calls `done`. */
  offer (peerId: string, relayer: string, now: number): NewcomerVerdict {
    if (this.pending.has(peerId)) return 'pending'
    const failedAt = this.unanswered.get(peerId)
    if (failedAt !== undefined) {
      if (now - failedAt < this.init.windowMs && now >= failedAt) return 'unanswered'
      this.unanswered.delete(peerId)
    }
    const window = this.windowOf(relayer, now)
    if (window.count >= this.init.perRelayer) return 'over-quota'
    if (this.pending.size >= this.init.maxPending) return 'full'
    window.count++
    this.pending.add(peerId)
    return 'queued'
  }

  /** The dial of `peerId` is over; `answered` false keeps it from being dialled again within the window. */
  done (peerId: string, answered: boolean, now: number): void {
    this.pending.delete(peerId)
    if (answered) return
    this.unanswered.delete(peerId)
    this.unanswered.set(peerId, now)
    // bounded: the oldest are forgotten first (and may be dialled again)
    while (this.unanswered.size > this.init.maxPending * UNANSWERED_PER_SLOT) this.unanswered.delete(this.unanswered.keys().next().value!)
  }

  clear (): void {
    this.pending.clear()
    this.windows.clear()
    this.unanswered.clear()
  }

  private windowOf (relayer: string, now: number): { start: number, count: number } {
    let window = this.windows.get(relayer)
    if (window === undefined || now - window.start >= this.init.windowMs || now < window.start) {
      if (window === undefined && this.windows.size >= MAX_RELAYERS) this.sweep(now)
      window = { start: now, count: 0 }
      this.windows.set(relayer, window)
    }
    return window
  }

  private sweep (now: number): void {
    for (const [relayer, window] of this.windows) if (now - window.start >= this.init.windowMs) this.windows.delete(relayer)
    // all windows live: the oldest goes, so the map stays bounded
    if (this.windows.size >= MAX_RELAYERS) this.windows.delete(this.windows.keys().next().value!)
  }
}
