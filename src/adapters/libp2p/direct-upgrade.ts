import type { ComponentLogger, Connection, Logger, PeerId, PeerUpdate, Startable } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { isPublicAddress, isRelayed } from './address-kinds.ts'

/** How long one attempt for a peer may take. */
export const DIRECT_UPGRADE_TIMEOUT_MS = 10_000
/** After an attempt for a peer: the least time before the next, and before the same addresses are tried again. */
export const DIRECT_UPGRADE_MIN_INTERVAL_MS = 30_000
export const DIRECT_UPGRADE_COOLDOWN_MS = 5 * 60_000
/** Peers remembered for the cool-down; beyond that the oldest is forgotten (bounded memory). */
const MAX_REMEMBERED = 1024

interface DirectUpgradeComponents {
  events: EventTarget
  logger: ComponentLogger
  connectionManager: {
    getConnections (peer?: PeerId): Connection[]
    openConnection (addrs: Multiaddr[], options: { force: true, signal: AbortSignal }): Promise<Connection>
  }
  transportManager: { dialTransportForMultiaddr (ma: Multiaddr): unknown }
}

export interface DirectUpgradeInit {
  now?: () => number
}

/**
 * DCUtR's unilateral upgrade, run again whenever a peer's addresses change. libp2p's
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
  private readonly lastTried = new Map<string, { at: number, addresses: string }>()
  private readonly onUpdate = (evt: Event): void => {
    void this.maybeUpgrade((evt as CustomEvent<PeerUpdate>).detail).catch((err) => { this.log.error('direct upgrade failed - %e', err) })
  }

  constructor (components: DirectUpgradeComponents, init: DirectUpgradeInit = {}) {
    this.components = components
    this.log = components.logger.forComponent('quloud:direct-upgrade')
    this.now = init.now ?? Date.now
  }

  start (): void {
    this.components.events.addEventListener('peer:update', this.onUpdate)
  }

  stop (): void {
    this.components.events.removeEventListener('peer:update', this.onUpdate)
    this.lastTried.clear()
  }

  /** Resolves to the direct connection when one replaced the relayed ones. */
  async maybeUpgrade ({ peer }: PeerUpdate): Promise<Connection | undefined> {
    const open = this.components.connectionManager.getConnections(peer.id).filter((c) => c.status === 'open')
    const relayed = open.filter((c) => isRelayed(c.remoteAddr.toString()))
    if (relayed.length === 0 || relayed.length < open.length) return undefined
    const direct = peer.addresses.map((a) => a.multiaddr)
      .filter((ma) => isPublicAddress(ma.toString()) && this.components.transportManager.dialTransportForMultiaddr(ma) != null)
    if (direct.length === 0) return undefined
    const key = peer.id.toString()
    const at = this.now()
    const addresses = direct.map(String).sort().join(' ')
    const last = this.lastTried.get(key)
    // an address that failed may start working (a mapping confirmed later): new addresses
    // are tried sooner, but never more than once per interval, whatever the peer announces
    if (last !== undefined && (at - last.at < DIRECT_UPGRADE_MIN_INTERVAL_MS || (last.addresses === addresses && at - last.at < DIRECT_UPGRADE_COOLDOWN_MS))) return undefined
    this.remember(key, { at, addresses })
    this.log('peer %p is relayed and announces %s: dialling it directly', peer.id, direct.map(String).join(', '))
    const connection = await this.components.connectionManager.openConnection(direct, { force: true, signal: AbortSignal.timeout(DIRECT_UPGRADE_TIMEOUT_MS) })
    if (isRelayed(connection.remoteAddr.toString())) return undefined
    this.log('direct upgrade to %p succeeded via %a, closing %d relayed connection(s)', peer.id, connection.remoteAddr, relayed.length)
    for (const c of relayed) await c.close().catch((err: Error) => { c.abort(err) })
    return connection
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
