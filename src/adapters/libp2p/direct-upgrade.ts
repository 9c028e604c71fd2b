import type { ComponentLogger, Connection, Logger, PeerId, PeerUpdate, Startable } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { isPublicAddress, isRelayed } from './address-kinds.ts'
import { MAX_STREAM_LIFETIME_MS } from './wire/constants.ts'

/** How long one attempt for a peer may take. */
export const DIRECT_UPGRADE_TIMEOUT_MS = 10_000
/** After an attempt for a peer: the least time before the next, and before the same addresses are tried again. */
export const DIRECT_UPGRADE_MIN_INTERVAL_MS = 30_000
export const DIRECT_UPGRADE_COOLDOWN_MS = 5 * 60_000
/**
 * A failed attempt is tried again on our own, after 5 s, 10 s and 20 s, however the
 * peer's addresses change: the first dial often meets libp2p's own DCUtR or a router
 * mapping that is a moment old. Three retries, then only the peer's updates count again.
 */
export const DIRECT_UPGRADE_RETRY_MS = 5_000
export const DIRECT_UPGRADE_RETRIES = 3
/** Peers remembered for the cool-down; beyond that the oldest is forgotten (bounded memory). */
const MAX_REMEMBERED = 1024
/**
 * A replaced relayed connection still carrying a Quloud stream is looked at again this
 * often, and closed when none is left, or after MAX_STREAM_LIFETIME_MS, the longest any
 * of them may run.
 */
export const RELAYED_DRAIN_CHECK_MS = 2_000
const QULOUD_PROTOCOLS = '/quloud/'

interface DirectUpgradeComponents {
  events: EventTarget
  logger: ComponentLogger
  connectionManager: {
    getConnections (peer?: PeerId): Connection[]
    openConnection (addrs: Multiaddr[], options: { force: true, signal: AbortSignal }): Promise<Connection>
  }
  transportManager: { dialTransportForMultiaddr (ma: Multiaddr): unknown }
  /** Where a retry finds the peer's current addresses; without it a failed attempt is not retried. */
  peerStore?: { get (peer: PeerId): Promise<PeerUpdate['peer']> }
}

export interface DirectUpgradeInit {
  now?: () => number
  /** Runs `fn` after `ms`; returns its cancel. Default: an unref'd setTimeout. */
  schedule?: (fn: () => void, ms: number) => () => void
}

function unrefTimeout (fn: () => void, ms: number): () => void {
  const timer = setTimeout(fn, ms)
  timer.unref?.()
  return () => { clearTimeout(timer) }
}

/**
 * DCUtR's unilateral upgrade, run again whenever a peer's addresses change (and when a
 * relayed connection opens to a peer whose public address is known). libp2p's
 * DCUtR looks at the other side's addresses once, when a relayed connection opens. A
 * node behind a UPnP router or a port forward only announces its public address after
 * AutoNAT confirmed it, which is usually after its first relayed connections opened, so
 * those stayed relayed for good. Here, when a peer we reach only through a relay
 * announces a public address, we dial it directly and close the relayed connections.
 *
 * An announced address is whatever the peer says: at most one attempt per peer per
 * interval (the same addresses only after a longer cool-down), only while we hold a
 * relayed connection to it (a peer we do not already talk to cannot make us dial), and
 * only addresses `isPublicAddress` accepts.
 */
export class DirectUpgrade implements Startable {
  private readonly components: DirectUpgradeComponents
  private readonly log: Logger
  private readonly now: () => number
  private readonly schedule: (fn: () => void, ms: number) => () => void
  private readonly lastTried = new Map<string, { at: number, addresses: string }>()
  /** Peers whose last attempt failed: the retries made so far and the cancel of the next. */
  private readonly retries = new Map<string, { made: number, cancel: () => void }>()
  /** Replaced relayed connections waiting for their Quloud streams to end, by connection id: since when, and the cancel of the next look. */
  private readonly draining = new Map<string, { since: number, cancel: () => void }>()
  private readonly onUpdate = (evt: Event): void => {
    void this.maybeUpgrade((evt as CustomEvent<PeerUpdate>).detail).catch((err) => { this.log.error('direct upgrade failed - %e', err) })
  }

  /**
   * A relayed connection that opens to a peer whose public address we already know: the
   * update that brought the address may have come while no relayed connection was open
   * (the peer reconnected through the relay afterwards), and libp2p's DCUtR looked at the
   * addresses only as they were when it ran. Seen in the NAT lab: b1 learned e1's UPnP
   * mapping, held a relayed connection to e1 from then on, and never tried.
   */
  private readonly onConnection = (evt: Event): void => {
    const connection = (evt as CustomEvent<Connection>).detail
    if (!isRelayed(connection.remoteAddr.toString())) {
      this.closeRelayed(connection.remotePeer)
      return
    }
    const peerStore = this.components.peerStore
    if (peerStore === undefined) return
    void peerStore.get(connection.remotePeer)
      .then(async (peer) => this.maybeUpgrade({ peer }))
      .catch((err) => { this.log('direct upgrade on a relayed connection to %p failed - %e', connection.remotePeer, err) })
  }

  constructor (components: DirectUpgradeComponents, init: DirectUpgradeInit = {}) {
    this.components = components
    this.log = components.logger.forComponent('quloud:direct-upgrade')
    this.now = init.now ?? Date.now
    this.schedule = init.schedule ?? unrefTimeout
  }

  start (): void {
    this.components.events.addEventListener('peer:update', this.onUpdate)
    this.components.events.addEventListener('connection:open', this.onConnection)
  }

  stop (): void {
    this.components.events.removeEventListener('peer:update', this.onUpdate)
    this.components.events.removeEventListener('connection:open', this.onConnection)
    this.lastTried.clear()
    for (const { cancel } of this.retries.values()) cancel()
    this.retries.clear()
    for (const { cancel } of this.draining.values()) cancel()
    this.draining.clear()
  }

  /**
   * A direct connection that opened beside relayed ones (libp2p's own DCUtR, or a dial for
   * another reason): the relayed ones are closed, as after an upgrade of our own, so the
   * relay carries nothing a direct path can. Seen in the NAT lab: b1 kept a relayed and a
   * direct connection to e1, and an update found nothing to upgrade.
   */
  private closeRelayed (peer: PeerId): void {
    const open = this.components.connectionManager.getConnections(peer).filter((c) => c.status === 'open')
    const relayed = open.filter((c) => isRelayed(c.remoteAddr.toString()))
    if (relayed.length === 0 || relayed.length === open.length) return
    this.log('%p has a direct connection: closing %d relayed connection(s)', peer, relayed.length)
    for (const c of relayed) this.closeWhenDrained(c)
  }

  /**
   * Closes a relayed connection a direct one replaced once no Quloud stream runs on it.
   * New streams take the direct connection (libp2p prefers it), so the relayed one
   * drains; closing it at once cut the stores and sessions on it, and in the NAT lab a
   * put whose only holder upgraded mid-put failed ("the storage node closed the stream
   * with requests outstanding"). Other protocols' streams (gossip, DHT, identify) are not
   * waited for: they open again on the direct connection. A stream whose own side closed
   * stays 'open' (libp2p changes only its write status) and is waited for.
   */
  private closeWhenDrained (c: Connection): void {
    const waiting = this.draining.get(c.id)
    waiting?.cancel()
    this.draining.delete(c.id)
    if (c.status !== 'open') return
    // the direct connection went while this one drained: it is the peer's path again, and stays
    const replaced = this.components.connectionManager.getConnections(c.remotePeer).some((o) => o.status === 'open' && !isRelayed(o.remoteAddr.toString()))
    if (!replaced) return
    const since = waiting?.since ?? this.now()
    // a stream still negotiating has no protocol yet: it may be a Quloud one
    const carrying = (c.streams ?? []).some((s) => s.status === 'open' && (s.protocol === '' || s.protocol?.startsWith(QULOUD_PROTOCOLS) === true))
    if (carrying && this.now() - since < MAX_STREAM_LIFETIME_MS) {
      this.draining.set(c.id, { since, cancel: this.schedule(() => { this.closeWhenDrained(c) }, RELAYED_DRAIN_CHECK_MS) })
      return
    }
    void c.close().catch((err: Error) => { c.abort(err) })
  }

  /** Resolves to the direct connection when one replaced the relayed ones. */
  async maybeUpgrade ({ peer }: PeerUpdate, retry = false): Promise<Connection | undefined> {
    const open = this.components.connectionManager.getConnections(peer.id).filter((c) => c.status === 'open')
    const relayed = open.filter((c) => isRelayed(c.remoteAddr.toString()))
    if (relayed.length === 0) return undefined
    if (relayed.length < open.length) {
      this.closeRelayed(peer.id)
      return undefined
    }
    const direct = peer.addresses.map((a) => a.multiaddr)
      .filter((ma) => isPublicAddress(ma.toString()) && this.components.transportManager.dialTransportForMultiaddr(ma) != null)
    if (direct.length === 0) return undefined
    const key = peer.id.toString()
    const at = this.now()
    const addresses = direct.map(String).sort().join(' ')
    const last = this.lastTried.get(key)
    // an address that failed may start working (a mapping confirmed later): new addresses
    // are tried sooner, but never more than once per interval, whatever the peer announces
    if (!retry && last !== undefined && (at - last.at < DIRECT_UPGRADE_MIN_INTERVAL_MS || (last.addresses === addresses && at - last.at < DIRECT_UPGRADE_COOLDOWN_MS))) return undefined
    // an update that may dial takes over from a pending retry, whose count it keeps
    if (!retry) this.retries.get(key)?.cancel()
    this.remember(key, { at, addresses })
    this.log('peer %p is relayed and announces %s: dialling it directly', peer.id, direct.map(String).join(', '))
    let connection: Connection
    try {
      connection = await this.components.connectionManager.openConnection(direct, { force: true, signal: AbortSignal.timeout(DIRECT_UPGRADE_TIMEOUT_MS) })
    } catch (err) {
      this.retryLater(peer.id)
      throw err
    }
    if (isRelayed(connection.remoteAddr.toString())) {
      this.retryLater(peer.id)
      return undefined
    }
    this.retries.delete(key)
    this.log('direct upgrade to %p succeeded via %a, closing %d relayed connection(s)', peer.id, connection.remoteAddr, relayed.length)
    for (const c of relayed) this.closeWhenDrained(c)
    return connection
  }

  /** After a failed attempt: the next of DIRECT_UPGRADE_RETRIES, at a doubling delay, or none. */
  private retryLater (peer: PeerId): void {
    const key = peer.toString()
    const made = this.retries.get(key)?.made ?? 0
    const peerStore = this.components.peerStore
    if (made >= DIRECT_UPGRADE_RETRIES || peerStore === undefined || (!this.retries.has(key) && this.retries.size >= MAX_REMEMBERED)) {
      this.retries.delete(key)
      return
    }
    const cancel = this.schedule(() => {
      void peerStore.get(peer)
        .then(async (current) => this.maybeUpgrade({ peer: current }, true))
        .then((connection) => { if (connection === undefined && this.retries.get(key)?.made === made + 1) this.retries.delete(key) })
        .catch((err) => { this.log('retried direct upgrade to %p failed - %e', peer, err) })
    }, DIRECT_UPGRADE_RETRY_MS * 2 ** made)
    this.retries.set(key, { made: made + 1, cancel })
  }

  private remember (key: string, attempt: { at: number, addresses: string }): void {
    this.lastTried.delete(key)
    this.lastTried.set(key, attempt)
    if (this.lastTried.size > MAX_REMEMBERED) this.lastTried.delete(this.lastTried.keys().next().value!)
  }
}

/** The libp2p service factory. */
export function directUpgrade (init: DirectUpgradeInit = {}): (components: DirectUpgradeComponents) => DirectUpgrade {
  return (components) => new DirectUpgrade(components, init)
}
