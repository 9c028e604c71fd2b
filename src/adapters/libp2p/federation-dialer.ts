import type { Libp2p, PeerId, PeerInfo } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { Logger } from '../../ports/logger.ts'

export interface FederationDialerInit {
  host: Pick<Libp2p, 'peerId' | 'dial' | 'getConnections' | 'peerStore' | 'peerRouting'>
  /** Bootstrap multiaddrs (with /p2p/); re-dialled at every walk while not connected. */
  bootstrap: string[]
  /** Peers in the DHT routing table; walks are skipped while it is empty. */
  dhtPeers: () => number
  /** Time between walks. */
  intervalMs: number
  /** Bound on one dial. */
  dialTimeoutMs: number
  log: Logger
}

/** Bound on the DHT query of one walk. */
const WALK_TIMEOUT_MS = 20_000
/** Dials in flight at once. */
const MAX_DIALS = 8

/**
 * Turns discovery into connections, which is what gossip and liveness need:
 * - dials every peer mDNS or bootstrap reports (libp2p only records them);
 * - every interval, re-dials bootstrap peers it lost and walks the DHT: a lookup of
 *   its own id returns the peers closest to it (in a small federation: all of them),
 *   and it dials those it is not connected to. Each walk and dial is time-bounded.
 */
export class FederationDialer {
  private readonly init: FederationDialerInit
  private readonly dialing = new Set<string>()
  private controller = new AbortController()
  private timer: ReturnType<typeof setTimeout> | undefined
  private walking: Promise<unknown> | undefined
  private running = false

  constructor (init: FederationDialerInit) {
    this.init = init
  }

  start (): void {
    if (this.running) return
    this.running = true
    this.controller = new AbortController()
    this.schedule(Math.min(this.init.intervalMs, 1000))
  }

  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    clearTimeout(this.timer)
    this.controller.abort()
    await this.walking
  }

  /** Dials a discovered peer unless it is this node, connected or being dialled. */
  dialSoon (peer: PeerInfo): void {
    if (!this.running) return
    void this.dial(peer.id, peer.multiaddrs.map((a) => a.toString()))
  }

  /** One walk: bootstrap peers, then the DHT neighbourhood. Resolves to the number of dials. */
  async walk (signal: AbortSignal = this.controller.signal): Promise<number> {
    const { host, log } = this.init
    const dials: Array<Promise<unknown>> = []
    for (const addr of this.init.bootstrap) {
      const id = multiaddr(addr).getComponents().findLast((c) => c.name === 'p2p')?.value
      if (id !== undefined) dials.push(this.dial(peerIdFromString(id), [addr]))
    }
    if (this.init.dhtPeers() > 0) {
      const query = AbortSignal.any([signal, AbortSignal.timeout(WALK_TIMEOUT_MS)])
      try {
        for await (const peer of host.peerRouting.getClosestPeers(host.peerId.toMultihash().bytes, { signal: query })) {
          dials.push(this.dial(peer.id, peer.multiaddrs.map((a) => a.toString())))
        }
      } catch (err) {
        if (!signal.aborted) log.debug(`DHT walk ended early: ${(err as Error).message}`)
      }
    }
    const results = await Promise.all(dials)
    return results.filter(Boolean).length
  }

  private async dial (peer: PeerId, addrs: string[]): Promise<boolean> {
    const { host, log } = this.init
    const key = peer.toString()
    if (!this.running || peer.equals(host.peerId) || this.dialing.has(key) || this.dialing.size >= MAX_DIALS) return false
    if (host.getConnections(peer).length > 0) return false
    this.dialing.add(key)
    try {
      const bare = addrs.map((a) => multiaddr(a)).map((a) => a.getComponents().at(-1)?.name === 'p2p' ? a.decapsulateCode(421) : a)
      if (bare.length > 0) await host.peerStore.merge(peer, { multiaddrs: bare })
      await host.dial(peer, { signal: AbortSignal.any([this.controller.signal, AbortSignal.timeout(this.init.dialTimeoutMs)]) })
      log.debug(`connected to ${key}`)
      return true
    } catch (err) {
      if (this.running) log.debug(`cannot dial ${key}: ${(err as Error).message}`)
      return false
    } finally {
      this.dialing.delete(key)
    }
  }

  private schedule (delayMs: number): void {
    if (!this.running) return
    this.timer = setTimeout(() => {
      this.walking = this.walk()
        .catch((err) => { if (this.running) this.init.log.warn('discovery walk failed', err) })
        .finally(() => { this.walking = undefined; this.schedule(this.init.intervalMs) })
    }, delayMs)
  }
}
