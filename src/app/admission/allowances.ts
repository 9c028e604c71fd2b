import type { AbortOptions } from '../../ports/abort-options.ts'

/** A peer the operator vouches for, with the bytes it may store here. */
export interface TrustedPeer {
  peerId: string
  quota: number
  name: string
  addedAt: number
}

/** The operator's list of trusted peers, as the allowances read it (in memory, synchronous). */
export interface TrustList {
  get (peerId: string): TrustedPeer | undefined
  list (): TrustedPeer[]
}

/** What a storage peer last said it would still take from this node, and when. */
export interface RoomThere {
  bytes: number
  atMs: number
}

/** What this node's owner side holds receipts for, per storage peer. */
export interface ReceiptTally {
  /** Bytes of live receipts this node holds from `peerId`. */
  bytesOn (peerId: string): number
  /** Every peer with a non-zero tally. */
  peers (): string[]
  /** The room `peerId` stated in its latest store answer (protocol-spec/store.md, "Room left"). */
  roomOn?: (peerId: string) => RoomThere | undefined
}

export interface AllowancesInit {
  trust: TrustList
  receipts: ReceiptTally
  /** Bytes one peer's records take here (the metadata store's count). */
  bytesStoredBy: (peerId: string, options?: AbortOptions) => Promise<number>
  /**
   * Bytes every record here is charged together (the metadata store's total), in the
   * same unit as `bytesStoredBy`: strangers' holdings are the total less the known
   * peers', which only holds when both count record charges, not disk bytes.
   */
  chargedBytes: (options?: AbortOptions) => Promise<number>
  /** Bytes of stores in flight, of one peer or (without one) of all (StorageService.inFlight). */
  inFlight?: (peerId?: string) => number
  /** Bytes a peer that is neither trusted nor reciprocal may store. */
  newcomerAllowance: number
  /** Bytes all such strangers together may store. */
  strangersCapacity: number
  /** Bytes the strangers of one public subnet (/24, /48) may store together. */
  strangersPerSubnet?: number
  /** The most any one untrusted peer may store, reciprocal or not. */
  peerCap: number
  /** Bytes a reciprocal peer may store per byte this node stores on it. */
  reciprocity?: number
  /**
   * Holders an audit of this node's owner caught (RepairService.distrusts): what their
   * receipts say they keep is not believed, so they earn no reciprocal credit.
   */
  caught?: (peerId: string) => boolean
}

export type PeerStanding = 'trusted' | 'reciprocal' | 'stranger'

/** One peer's terms here, as `quloud peers` shows them. */
export interface PeerAllowance {
  peerId: string
  standing: PeerStanding
  name?: string
  /** Bytes it may store here in total (what it stores included). */
  allowance: number
  storesHere: number
  weStoreThere: number
  /** What it last said it would still take from us; absent until we stored there. */
  roomThere?: RoomThere
}

/**
 * Admission by standing: trusted peers get the quota the operator gave them; a peer
 * this node stores at least a newcomer's allowance on gets as much room as it gives
 * (receipts), plus the newcomer allowance; everybody else shares the strangers' pool, each at most the newcomer
 * allowance. Peer ids are free, so only the pool bounds what a flood of fresh ids
 * takes: the rest of the capacity stays for peers that earned or were given it.
 *
 * The pool is measured as all bytes held minus those of trusted and reciprocal peers,
 * so no walk over every stranger is needed per store (a Sybil flood would make that
 * walk its own attack), plus other strangers' stores in flight: many ids storing at
 * once would otherwise each see the same room left. The asking peer's own stores in
 * flight are the caller's to subtract (StorageService does).
 */
export class Allowances {
  private readonly init: AllowancesInit

  constructor (init: AllowancesInit) {
    this.init = init
  }

  /**
   * Reciprocal takes receipts for at least a newcomer's allowance: below that a peer is
   * a stranger, drawing on the strangers' pool like one. One small receipt (a catalogue
   * piece, one chunk) must neither buy each of many ids room beside the pool nor leave
   * an honest peer with less than a stranger gets.
   */
  standingOf (peerId: string): PeerStanding {
    if (this.init.trust.get(peerId) !== undefined) return 'trusted'
    return this.isReciprocal(peerId) ? 'reciprocal' : 'stranger'
  }

  /** Bytes `peerId` may hold here once its next record is added. */
  async allowanceOf (peerId: string, options?: AbortOptions): Promise<number> {
    const trusted = this.init.trust.get(peerId)
    if (trusted !== undefined) return trusted.quota
    if (this.isReciprocal(peerId)) {
      const earned = Math.floor(this.init.receipts.bytesOn(peerId) * (this.init.reciprocity ?? 1))
      return Math.min(this.init.peerCap, earned + this.init.newcomerAllowance)
    }
    // read before the counts: a store finishing meanwhile is counted twice, never missed
    const othersInFlight = this.strangersInFlight() - this.inFlight(peerId)
    const [held, strangersHeld] = await Promise.all([this.init.bytesStoredBy(peerId, options), this.strangersHeld(options)])
    const poolLeft = Math.max(0, this.init.strangersCapacity - strangersHeld - othersInFlight)
    return Math.min(this.init.newcomerAllowance, this.init.peerCap, held + poolLeft)
  }

  /**
   * Bytes the strangers of `subnet` may hold together, for a stranger's store; undefined
   * for trusted and reciprocal peers, whose room is their own.
   */
  subnetShareOf (peerId: string, _subnet: string): number | undefined {
    if (this.standingOf(peerId) !== 'stranger') return undefined
    return this.init.strangersPerSubnet ?? this.init.strangersCapacity
  }

  /** Every peer with a standing other than stranger, and `alsoPeers` (e.g. the peer book). */
  async view (alsoPeers: string[], options?: AbortOptions): Promise<PeerAllowance[]> {
    const ids = new Set([...this.init.trust.list().map((p) => p.peerId), ...this.init.receipts.peers(), ...alsoPeers])
    const rows: PeerAllowance[] = []
    for (const peerId of ids) {
      const name = this.init.trust.get(peerId)?.name
      rows.push({
        peerId,
        standing: this.standingOf(peerId),
        ...(name === undefined ? {} : { name }),
        allowance: await this.allowanceOf(peerId, options),
        storesHere: await this.init.bytesStoredBy(peerId, options),
        weStoreThere: this.init.receipts.bytesOn(peerId),
        ...roomOf(this.init.receipts, peerId)
      })
    }
    return rows
  }

  private isReciprocal (peerId: string): boolean {
    if (this.init.caught?.(peerId) === true) return false
    const given = this.init.receipts.bytesOn(peerId)
    return given > 0 && given >= this.init.newcomerAllowance
  }

  private knownPeers (): Set<string> {
    return new Set([...this.init.trust.list().map((p) => p.peerId), ...this.init.receipts.peers().filter((p) => this.isReciprocal(p))])
  }

  /**
   * A caught peer is charged to the pool for at most a newcomer's allowance: what it
   * stored here while reciprocal would otherwise fill the strangers' pool the moment an
   * audit caught it, and a peer can fail an audit at will (drop one shard), so a
   * reciprocal peer could shut every newcomer out by getting itself caught.
   */
  private async strangersHeld (options?: AbortOptions): Promise<number> {
    const caught = this.init.caught === undefined ? [] : this.init.receipts.peers().filter((p) => this.init.trust.get(p) === undefined && this.init.caught!(p))
    const held = async (peers: Iterable<string>): Promise<number[]> => Promise.all([...peers].map(async (peerId) => this.init.bytesStoredBy(peerId, options)))
    const [known, caughtHeld, total] = await Promise.all([held(this.knownPeers()), held(caught), this.init.chargedBytes(options)])
    const beyondNewcomer = caughtHeld.reduce((sum, bytes) => sum + Math.max(0, bytes - this.init.newcomerAllowance), 0)
    return Math.max(0, total - known.reduce((sum, bytes) => sum + bytes, 0) - beyondNewcomer)
  }

  private strangersInFlight (): number {
    let known = 0
    for (const peerId of this.knownPeers()) known += this.inFlight(peerId)
    return Math.max(0, this.inFlight() - known)
  }

  private inFlight (peerId?: string): number {
    return this.init.inFlight?.(peerId) ?? 0
  }
}

function roomOf (receipts: ReceiptTally, peerId: string): { roomThere?: RoomThere } {
  const room = receipts.roomOn?.(peerId)
  return room === undefined ? {} : { roomThere: room }
}
