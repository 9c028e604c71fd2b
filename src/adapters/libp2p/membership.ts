import type { Libp2p, PeerId, PrivateKey } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { LivenessService } from '../../app/liveness-service.ts'
import type { NetworkStatus, PeersResponse } from '../../app/federation-status.ts'
import { isPublicAddress, isRelayed } from './address-kinds.ts'
import { ANNOUNCEMENT_LIMITS } from '../../domain/membership/announcement.ts'
import { announceTopic, dhtProtocol } from '../../domain/membership/federation.ts'
import type { NodeConfig } from '../../domain/config/node-config.ts'
import { uptimeRatio, type LivePeer } from '../../domain/membership/peer-entry.ts'
import type { AbortOptions } from '../../ports/abort-options.ts'
import type { LoggerFactory } from '../../ports/logger.ts'
import type { ListLiveOptions, PeerBook } from '../../ports/peer-book.ts'
import { VERSION } from '../../version.ts'
import { createHost, type BaseServices } from './create-host.ts'
import { FederationAnnouncer } from './federation-announcer.ts'
import { FederationDialer } from './federation-dialer.ts'
import { federationHostOptions, type FederationServices } from './federation-services.ts'

export type MembershipConfig = Pick<NodeConfig,
  'listen' | 'publicAddresses' | 'capacity' | 'federation' | 'mdns' | 'bootstrap' | 'dhtMode' | 'relayServer' | 'upnp' |
  'announceInterval' | 'announceWindow' | 'livenessInterval' | 'pingTimeout' | 'unreachableAfterFailures' |
  'unreachableAfter' | 'discoveryInterval'>

export interface MembershipInit {
  privateKey: PrivateKey
  config: MembershipConfig
  book: PeerBook
  /** Announced, and required from every peer (see src/domain/proofs/proof-system.ts). */
  proofSystemId: string
  /** Free bytes of the offered capacity, read at each announcement. */
  freeBytes: (options?: AbortOptions) => Promise<number>
  startedAt: Date
  loggers: LoggerFactory
  /** Announcements from new peers are ignored once the book holds this many. Default 1000. */
  maxPeers?: number
}

export type FederationHost = Libp2p<BaseServices & FederationServices>

/** A running federation member: its libp2p host and what it knows about its peers. */
export interface Membership {
  host: FederationHost
  /** Live peers with their free capacity, for placement (most free first). */
  livePeers (options?: ListLiveOptions): Promise<LivePeer[]>
  peers (options?: AbortOptions): Promise<PeersResponse>
  network (options?: AbortOptions): Promise<NetworkStatus>
  stop (): Promise<void>
}

const DIAL_TIMEOUT_MS = 10_000

/**
 * Starts the libp2p host with the federation services and the three activities on
 * top of it: announcing (gossip), liveness (pings into the peer book) and dialling
 * what discovery finds. `stop` ends them in reverse order and stops the host.
 */
export async function startMembership (init: MembershipInit): Promise<Membership> {
  const { config, book, loggers } = init
  const log = loggers('membership')
  let dialer: FederationDialer | undefined
  const host = await createHost<FederationServices>({
    privateKey: init.privateKey,
    listen: config.listen,
    publicAddresses: config.publicAddresses,
    ...federationHostOptions({ ...config, onDiscovered: (peer) => dialer?.dialSoon(peer) })
  })
  await host.start()
  const stops: Array<() => Promise<void>> = [async () => host.stop()]
  const stop = async (): Promise<void> => {
    for (const step of stops.splice(0).reverse()) await step().catch((err) => log.error('membership shutdown step failed', err))
  }

  try {
    // the libp2p peer store is in memory: give it the addresses the book kept
    for (const entry of await book.list()) await rememberAddresses(host, entry.peerId, entry.addresses)

    const liveness = new LivenessService({
      book,
      ping: async (peerId, options) => host.services.ping.ping(peerIdFromString(peerId), options),
      settings: {
        intervalMs: config.livenessInterval,
        timeoutMs: config.pingTimeout,
        unreachableAfterFailures: config.unreachableAfterFailures,
        unreachableAfterMs: config.unreachableAfter
      },
      log: loggers('liveness')
    })
    const probeIfNotReachable = (peerId: string): void => {
      book.get(peerId).then((entry) => { if (!entry.liveness.reachable) liveness.probeSoon(peerId) }, () => {})
    }
    const announcer = new FederationAnnouncer({
      pubsub: host.services.pubsub,
      privateKey: init.privateKey,
      peerId: host.peerId,
      federation: config.federation,
      proofSystemId: init.proofSystemId,
      software: `quloud/${VERSION}`,
      protocols: [dhtProtocol(config.federation), announceTopic(config.federation)],
      book,
      offer: async () => ({
        addresses: shareableAddresses(host.getMultiaddrs().map((a) => a.toString())),
        capacity: config.capacity,
        free: Math.max(0, await init.freeBytes()),
        uptime: Math.floor((Date.now() - init.startedAt.getTime()) / 1000)
      }),
      intervalMs: config.announceInterval,
      windowMs: config.announceWindow,
      maxPeers: init.maxPeers ?? 1000,
      log: loggers('announce'),
      onAccepted: (announcement) => {
        rememberAddresses(host, announcement.peerId, announcement.addresses)
          .then(() => probeIfNotReachable(announcement.peerId))
          .catch((err) => log.debug('cannot remember announced addresses', err))
      }
    })
    const dhtPeers = (): number => (host.services.dht as unknown as { routingTable?: { size: number } }).routingTable?.size ?? 0
    dialer = new FederationDialer({
      host,
      bootstrap: config.bootstrap,
      dhtPeers,
      intervalMs: config.discoveryInterval,
      dialTimeoutMs: DIAL_TIMEOUT_MS,
      log: loggers('discovery')
    })
    const onConnect = (evt: CustomEvent<PeerId>): void => probeIfNotReachable(evt.detail.toString())
    host.addEventListener('peer:connect', onConnect)
    stops.push(async () => host.removeEventListener('peer:connect', onConnect))

    liveness.start()
    stops.push(async () => liveness.stop())
    announcer.start()
    stops.push(async () => announcer.stop())
    const started = dialer
    started.start()
    stops.push(async () => started.stop())
    log.info(`federation "${config.federation}": DHT ${dhtProtocol(config.federation)} (${host.services.dht.getMode()} mode), ` +
      `mDNS ${config.mdns ? 'on' : 'off'}, ${config.bootstrap.length} bootstrap peers`)

    const livePeers = async (options?: ListLiveOptions): Promise<LivePeer[]> => book.listLive({ proofSystemId: init.proofSystemId, ...options })
    return {
      host,
      livePeers,
      peers: async (options) => {
        const entries = await book.list(options)
        return {
          federation: config.federation,
          proofSystemId: init.proofSystemId,
          peers: entries.map((entry) => ({
            ...entry,
            connected: host.getConnections(peerIdFromString(entry.peerId)).length > 0,
            uptimeRatio: uptimeRatio(entry.liveness)
          })),
          live: (await livePeers(options)).length,
          announcements: { ...announcer.stats }
        }
      },
      network: async (options) => {
        const known = host.services.nodeAddresses.list()
        const announced = host.getMultiaddrs().map((a) => a.toString())
        return {
          federation: config.federation,
          dhtMode: host.services.dht.getMode(),
          mdns: config.mdns,
          bootstrap: config.bootstrap,
          listen: known.filter((a) => a.type === 'transport').map((a) => a.multiaddr),
          announced,
          observed: known.filter((a) => a.type === 'observed').map((a) => ({ address: a.multiaddr, verified: a.verified })),
          relay: announced.filter(isRelayed),
          autonat: { enabled: host.services.autoNAT !== undefined, publiclyReachable: announced.some(isPublicAddress) },
          upnp: config.upnp,
          relayServer: config.relayServer,
          peers: { connected: host.getPeers().length, known: await book.count(options), live: (await livePeers(options)).length, dht: dhtPeers() }
        }
      },
      stop
    }
  } catch (err) {
    await stop()
    throw err
  }
}

/** At most the schema's number of addresses, directly dialable public ones first. */
function shareableAddresses (addrs: string[]): string[] {
  const rank = (a: string): number => isPublicAddress(a) ? 0 : isRelayed(a) ? 1 : a.startsWith('/ip4/127.') || a.startsWith('/ip6/::1/') ? 3 : 2
  return addrs
    .filter((a) => a.length <= ANNOUNCEMENT_LIMITS.maxAddressLength)
    .sort((a, b) => rank(a) - rank(b))
    .slice(0, ANNOUNCEMENT_LIMITS.maxAddresses)
}

async function rememberAddresses (host: FederationHost, peerId: string, addrs: string[]): Promise<void> {
  if (addrs.length === 0 || peerId === host.peerId.toString()) return
  const multiaddrs = addrs.map((a) => multiaddr(a)).map((a) => a.getComponents().at(-1)?.name === 'p2p' ? a.decapsulateCode(421) : a)
  await host.peerStore.merge(peerIdFromString(peerId), { multiaddrs })
}
