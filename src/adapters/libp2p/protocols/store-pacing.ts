import type { Connection } from '@libp2p/interface'
import { admissionNetworkOf } from '../../../domain/membership/subnet.ts'
import { recordCharge } from '../../../domain/protocol/record-charge.ts'
import type { StoreRate } from '../../../domain/resources/store-rate.ts'
import { holdBack } from './hold-back.ts'

export interface StorePacingInit {
  rate: StoreRate
  /** Trusted or reciprocal peers: never paced, never charged. */
  isKnown: (peer: string) => boolean
  /** What a store is charged when let through, before its size is known (the largest frame); settled once it is read. */
  provisionalBytes: number
}

/** What a store let through was charged ahead, to settle once its frame is read. */
export interface StoreTicket {
  readonly subnet?: string
  readonly charged: number
}

/**
 * A wait is at most this long before the rate is weighed again: debts are paid off in
 * slices, so a connection that closed meanwhile is given up on within one.
 */
const MAX_SLICE_MS = 2000
/** Work for a peer with standing keeps strangers paced this long after it. */
const PRIORITY_WINDOW_MS = 10_000
/** Peers with standing remembered as recently served; the oldest go first. */
const MAX_PRIORITY_PEERS = 64

/**
 * Strangers' stores at the store rate (domain/resources/store-rate.ts) while the node
 * has work for peers with standing (trusted, reciprocal, or a handshake admitted ahead
 * of strangers) within the last ten seconds: then each store a stranger sends is charged
 * its record charge once read (only then: an idle node's strangers owe nothing), and before its stream's next request is read the stream
 * waits while its subnet (or all strangers) is in debt, with its connection held back
 * meanwhile (hold-back.ts), so the frames wait in the stranger's own TCP window,
 * undecrypted. While nobody with standing is served, strangers store at the node's
 * speed: the rate shares the node, it does not leave it idle (allowances bound what
 * they keep). A peer's own work never paces it. Known peers pass untouched.
 */
export class StorePacing {
  private readonly init: StorePacingInit
  /** Peers with standing served lately, oldest first, with when. */
  private readonly priority = new Map<string, number>()
  /** Per subnet, the last of its strangers' streams waiting out its debt: each waits for the one before it. */
  private readonly lanes = new Map<string, Promise<void>>()

  constructor (init: StorePacingInit) {
    this.init = init
  }

  /** Work for `peer` was done: it counts as priority work if the peer is known or was admitted with standing (`standing`). */
  noteWork (peer: string, standing = false): void {
    if (!standing && !this.init.isKnown(peer)) return
    this.priority.delete(peer)
    this.priority.set(peer, Date.now())
    if (this.priority.size > MAX_PRIORITY_PEERS) this.priority.delete(this.priority.keys().next().value!)
  }

  /**
   * Resolves once a stranger on `connection` may send its next store, charged the
   * largest store ahead: the streams of a subnet waiting out one debt then pass one at a
   * time as it is paid, instead of all at once when it is (a burst of frames that held
   * the event loop for everyone else), and in the order they came: waiters polling the
   * debt each on its own timer were served at random, and CI saw one stream starved past
   * its client's 20 s patience behind eight of an attacker's on its subnet.
   */
  async beforeRead (connection: Connection): Promise<StoreTicket> {
    const peer = connection.remotePeer.toString()
    if (this.init.isKnown(peer)) return { charged: 0 }
    const subnet = admissionNetworkOf(connection.remoteAddr.toString())
    if (this.waitMs(peer, subnet) === 0 && !this.lanes.has(subnet)) return this.letThrough(peer, subnet)
    const ahead = this.lanes.get(subnet) ?? Promise.resolve()
    let pass!: () => void
    const mine = new Promise<void>((resolve) => { pass = resolve })
    this.lanes.set(subnet, mine)
    try {
      await ahead
      for (let ms = this.waitMs(peer, subnet); ms > 0 && connection.status === 'open'; ms = this.waitMs(peer, subnet)) {
        const slice = Math.min(ms, MAX_SLICE_MS)
        holdBack(connection, slice)
        await new Promise((resolve) => setTimeout(resolve, slice))
      }
      // one that hung up while it waited sends nothing: charged, it would hold the rest of
      // the lane until its read failed and gave the charge back
      if (connection.status !== 'open') return { subnet, charged: 0 }
      return this.letThrough(peer, subnet)
    } finally {
      // charged before the next in the lane weighs the debt
      pass()
      if (this.lanes.get(subnet) === mine) this.lanes.delete(subnet)
    }
  }

  private letThrough (peer: string, subnet: string): StoreTicket {
    // stored while nobody with standing is served, it owes nothing: a debt run up on an
    // idle node would hold an honest stranger past its client's patience once a friend came
    if (!this.othersServed(peer)) return { subnet, charged: 0 }
    this.init.rate.charge(subnet, this.init.provisionalBytes)
    return { subnet, charged: this.init.provisionalBytes }
  }

  /**
   * Settles `ticket` with the store that arrived (`bytes` of data; undefined: none did,
   * the charge is given back); a known peer's store is noted as priority work.
   */
  settle (connection: Connection, ticket: StoreTicket, bytes: number | undefined): void {
    if (ticket.subnet === undefined) {
      if (bytes !== undefined) this.noteWork(connection.remotePeer.toString())
      return
    }
    const owed = bytes === undefined || ticket.charged === 0 ? 0 : recordCharge(bytes)
    if (owed !== ticket.charged) this.init.rate.charge(ticket.subnet, owed - ticket.charged)
  }

  private waitMs (peer: string, subnet: string): number {
    return this.othersServed(peer) ? this.init.rate.waitMs(subnet) : 0
  }

  /** Whether a peer with standing other than `peer` was served within the window. */
  private othersServed (peer: string): boolean {
    const since = Date.now() - PRIORITY_WINDOW_MS
    for (const [id, at] of this.priority) {
      if (at < since) { this.priority.delete(id); continue }
      if (id !== peer) return true
    }
    return false
  }
}
