/** What the gate says of an announcement from a peer not in the book. */
export type NewcomerVerdict =
  /** Queued: dial it. */
  | 'queued'
  /** Already waiting for its dial: nothing to do. */
  | 'pending'
  /** Dialled within the window without an answer: not dialled again yet, and not counted. */
  | 'unanswered'
  /** The relaying peer used up its dials this window: not dialled now (it may be announced again later). */
  | 'over-quota'
  /** The relaying peer introduced more distinct new identities this window than a book can hold: penalise it. */
  | 'flood'
  /** The unverified set is full: drop it (a correct relayer can cause this). */
  | 'full'

export interface NewcomerGateInit {
  /** New identities one relaying peer may have dialled per window. */
  perRelayer: number
  /**
   * Distinct new identities one relaying peer may name per window before it is
   * penalised: an honest neighbour forwards only peers it reached itself, so never more
   * than a peer book holds (the node's own `peerBookSize`).
   */
  floodLimit: number
  windowMs: number
  /** Size of the unverified set: announcements waiting for their dial. */
  maxPending: number
}

/** Relayers tracked at most; beyond it, expired windows are swept. */
const MAX_RELAYERS = 1024
interface RelayWindow {
  start: number
  /** Dials granted. */
  count: number
  /** Distinct new ids named, up to floodLimit + 1. */
  named: Set<string>
}

/** Unanswered ids remembered at most, per slot of the unverified set. */
const UNANSWERED_PER_SLOT = 16
/**
 * The wait before an unanswered peer is dialled again: doubling from this, up to the
 * window. One missed ping (a node still starting, a loaded machine) then costs seconds,
 * a peer that never answers one dial per window.
 */
export const FIRST_RETRY_MS = 5_000

/**
 * Stands between gossip and the peer book. An announcement of an unknown peer is only
 * a claim: it waits in a small bounded "unverified" set until the peer answers a dial
 * (then the book admits it) or does not (then it is forgotten). Each relaying peer (the
 * gossip connection it came over, whoever signed it) gets only `perRelayer` dials of
 * new identities per window, so one connection cannot fill the set with forged ids;
 * the rest are dropped without penalty (an honest neighbour introducing a newcomer to
 * a large federation forwards many peers at once), unless the relayer names more
 * distinct new ids than `floodLimit`, which no honest one does: that is reported
 * against it. A peer whose dial went
 * unanswered is not dialled again for a while (5 s, doubling with every further miss,
 * up to the window), and its announcements in that time
 * do not count against the relayer: an honest neighbour forwarding a peer that this node
 * cannot reach (behind NAT) every announce interval must not pay for it.
 */
export class NewcomerGate {
  private readonly init: NewcomerGateInit
  private readonly pending = new Set<string>()
  private readonly windows = new Map<string, RelayWindow>()
  /** Peer id -> when its last dial went unanswered and how many did in a row; insertion order is age order. */
  private readonly unanswered = new Map<string, { at: number, misses: number }>()

  constructor (init: NewcomerGateInit) {
    this.init = init
  }

  get size (): number {
    return this.pending.size
  }

  /** Judges the announcement of `peerId` relayed by `relayer`; on 'queued' the caller dials it and calls `done`. */
  offer (peerId: string, relayer: string, now: number): NewcomerVerdict {
    if (this.pending.has(peerId)) return 'pending'
    const missed = this.unanswered.get(peerId)
    if (missed !== undefined && now - missed.at < this.retryAfter(missed.misses) && now >= missed.at) return 'unanswered'
    const window = this.windowOf(relayer, now)
    // distinct ids, so an honest relayer repeating a peer every announce interval is not a flood; capped, so bounded
    if (window.named.size <= this.init.floodLimit) window.named.add(peerId)
    if (window.named.size > this.init.floodLimit) return 'flood'
    if (window.count >= this.init.perRelayer) return 'over-quota'
    if (this.pending.size >= this.init.maxPending) return 'full'
    window.count++
    this.pending.add(peerId)
    return 'queued'
  }

  /** The dial of `peerId` is over; `answered` false keeps it from being dialled again for a while (retryAfter). */
  done (peerId: string, answered: boolean, now: number): void {
    this.pending.delete(peerId)
    const misses = this.unanswered.get(peerId)?.misses ?? 0
    this.unanswered.delete(peerId)
    if (answered) return
    this.unanswered.set(peerId, { at: now, misses: misses + 1 })
    // bounded: the oldest are forgotten first (and may be dialled again)
    while (this.unanswered.size > this.init.maxPending * UNANSWERED_PER_SLOT) this.unanswered.delete(this.unanswered.keys().next().value!)
  }

  clear (): void {
    this.pending.clear()
    this.windows.clear()
    this.unanswered.clear()
  }

  /** How long after its `misses`-th unanswered dial in a row a peer may be dialled again. */
  private retryAfter (misses: number): number {
    return Math.min(this.init.windowMs, FIRST_RETRY_MS * 2 ** Math.min(misses - 1, 30))
  }

  private windowOf (relayer: string, now: number): RelayWindow {
    let window = this.windows.get(relayer)
    if (window === undefined || now - window.start >= this.init.windowMs || now < window.start) {
      if (window === undefined && this.windows.size >= MAX_RELAYERS) this.sweep(now)
      window = { start: now, count: 0, named: new Set() }
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
