import type { PrivateKey } from '@libp2p/interface'
import { createHost, type HostInit } from '../adapters/libp2p/create-host.ts'
import { TokenBucket } from '../adapters/libp2p/wire/token-bucket.ts'
import { burstOf, installTrafficLimit, TrafficLimit } from '../adapters/libp2p/wire/traffic-limit.ts'
import { FederationAnnouncer } from '../adapters/libp2p/federation-announcer.ts'
import { FederationDialer } from '../adapters/libp2p/federation-dialer.ts'
import { federationHostOptions, type FederationServices } from '../adapters/libp2p/federation-services.ts'
import {
  answeringSubnet, forgetUnconnected, networkOf, onPeerConnect, placementAddresses, peersOf, pingOver, rememberAddresses, shareableAddresses, dhtPeerCount, type FederationHost
} from '../adapters/libp2p/membership.ts'
import type { NetworkStatus, PeersResponse } from '../app/federation-status.ts'
import { EventLoopStalls } from '../app/event-loop-stalls.ts'
import { LivenessService } from '../app/liveness-service.ts'
import { announceTopic, dhtProtocol } from '../domain/membership/federation.ts'
import { NEW_PEERS_WINDOW_MS, peerBookPerSubnetOf, type NodeConfig } from '../domain/config/node-config.ts'
import type { LivePeer } from '../domain/membership/peer-entry.ts'
import type { AbortOptions } from '../ports/abort-options.ts'
import type { LoggerFactory } from '../ports/logger.ts'
import type { ListLiveOptions, PeerBook } from '../ports/peer-book.ts'
import { VERSION } from '../version.ts'
import { Shutdown } from './shutdown.ts'

export type { FederationHost } from '../adapters/libp2p/membership.ts'

export type MembershipConfig = Pick<NodeConfig,
  'listen' | 'publicAddresses' | 'capacity' | 'federation' | 'site' | 'mdns' | 'bootstrap' | 'dhtMode' | 'relayServer' | 'upnp' | 'limitUpload' | 'limitDownload' |
  'relayReservations' | 'relayReservationsPerSubnet' | 'relayStrangerRate' |
  'announceInterval' | 'announceWindow' | 'livenessInterval' | 'pingTimeout' | 'unreachableAfterFailures' |
  'unreachableAfter' | 'discoveryInterval' | 'peerBookSize' | 'peerBookPerSubnet' | 'peerStaleAfter' | 'newPeersPerRelay' | 'unverifiedPeers'>

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
  /** The inbound connection budget (strangers' share, per subnet, per minute); default libp2p's limits. */
  connections?: HostInit['connections']
}

/** A running federation member: its libp2p host and what it knows about its peers. */
export interface Membership {
  host: FederationHost
  /** Live peers with their free capacity, for placement (most free first); `addresses` are placementAddresses. */
  livePeers (options?: ListLiveOptions): Promise<LivePeer[]>
  peers (options?: AbortOptions): Promise<PeersResponse>
  network (options?: AbortOptions): Promise<NetworkStatus>
  /** Traffic with this peer succeeded: it is alive whatever its pings say (LivenessService). */
  observedAlive (peerId: string): void
  stop (): Promise<void>
}

const DIAL_TIMEOUT_MS = 10_000

/**
 * The membership half: the libp2p host with the federation services, and the three
 * activities on top of it: announcing (gossip), liveness (pings into the peer book)
 * and dialling what discovery finds. `stop` ends them in reverse order, then the host.
 */
export async function startMembership (init: MembershipInit): Promise<Membership> {
  const { config, book, loggers } = init
  const log = loggers('membership')
  let dialer: FederationDialer | undefined
  const host = await createHost<FederationServices>({
    privateKey: init.privateKey,
    listen: config.listen,
    publicAddresses: config.publicAddresses,
    connections: init.connections,
    ...federationHostOptions({ ...config, isKnownPeer: init.connections?.isKnownPeer, onDiscovered: (peer) => dialer?.dialSoon(peer) })
  })
  await host.start()
  const shutdown = new Shutdown(log, 'membership shutdown step failed')
  shutdown.push(async () => host.stop())
  // installed once the host runs: no federation stream exists before
  const bucket = (rate?: number): TokenBucket | undefined => rate === undefined ? undefined : new TokenBucket(rate, burstOf(rate))
  const traffic = config.limitUpload === undefined && config.limitDownload === undefined
    ? undefined
    : new TrafficLimit({ upload: bucket(config.limitUpload), download: bucket(config.limitDownload) })
  if (traffic !== undefined) {
    const uninstall = installTrafficLimit(traffic)
    shutdown.push(async () => uninstall())
  }

  try {
    // the libp2p peer store is in memory: give it the addresses the book kept
    for (const entry of await book.list()) await rememberAddresses(host, entry.peerId, entry.addresses)

    const liveness = new LivenessService({
      book,
      ping: pingOver(host),
      settings: {
        intervalMs: config.livenessInterval,
        timeoutMs: config.pingTimeout,
        unreachableAfterFailures: config.unreachableAfterFailures,
        unreachableAfterMs: config.unreachableAfter
      },
      // a ping that timed out while this thread was blocked (sealing, proving) says nothing of the peer
      stalls: new EventLoopStalls(),
      admission: { maxPeers: config.peerBookSize, staleAfterMs: config.peerStaleAfter, maxPerSubnet: peerBookPerSubnetOf(config) },
      answeringSubnet: (peerId) => answeringSubnet(host, peerId),
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
      protocols: [dhtProtocol(config.federation), announceTopic(config.federation, 1), announceTopic(config.federation, 2)],
      ...(config.site === undefined ? {} : { site: config.site }),
      book,
      offer: async () => ({
        addresses: shareableAddresses(host.getMultiaddrs().map((a) => a.toString())),
        capacity: config.capacity,
        free: Math.max(0, await init.freeBytes()),
        uptime: Math.floor((Date.now() - init.startedAt.getTime()) / 1000)
      }),
      intervalMs: config.announceInterval,
      windowMs: config.announceWindow,
      newcomers: { perRelayer: config.newPeersPerRelay, floodLimit: config.peerBookSize, windowMs: NEW_PEERS_WINDOW_MS, maxPending: config.unverifiedPeers },
      verify: async (announcement, options) => {
        // libp2p's peer store learns the claimed addresses for the dial, and forgets them if nobody answered
        await rememberAddresses(host, announcement.peerId, announcement.addresses)
        const admitted = await liveness.admit(announcement, options)
        if (!admitted) await forgetUnconnected(host, announcement.peerId)
        return admitted
      },
      log: loggers('announce'),
      onAccepted: (announcement) => {
        rememberAddresses(host, announcement.peerId, announcement.addresses)
          .then(() => probeIfNotReachable(announcement.peerId))
          .catch((err) => log.debug('cannot remember announced addresses', err))
      }
    })
    const started = new FederationDialer({
      host,
      bootstrap: config.bootstrap,
      dhtPeers: () => dhtPeerCount(host),
      intervalMs: config.discoveryInterval,
      dialTimeoutMs: DIAL_TIMEOUT_MS,
      log: loggers('discovery')
    })
    dialer = started
    const unsubscribe = onPeerConnect(host, probeIfNotReachable)
    shutdown.push(async () => unsubscribe())

    liveness.start()
    shutdown.push(async () => liveness.stop())
    announcer.start()
    shutdown.push(async () => announcer.stop())
    started.start()
    shutdown.push(async () => started.stop())
    log.info(`federation "${config.federation}": DHT ${dhtProtocol(config.federation)} (${host.services.dht.getMode()} mode), ` +
      `mDNS ${config.mdns ? 'on' : 'off'}, ${config.bootstrap.length} bootstrap peers`)

    const livePeers = async (options?: ListLiveOptions): Promise<LivePeer[]> =>
      (await book.listLive({ proofSystemId: init.proofSystemId, ...options })).map((p) => ({ ...p, addresses: placementAddresses(host, p) }))
    const view = { host, book, config, proofSystemId: init.proofSystemId, livePeers, announcements: () => announcer.stats, traffic }
    return {
      host,
      livePeers,
      peers: async (options) => peersOf(view, options),
      network: async (options) => networkOf(view, options),
      observedAlive: (peerId) => { void liveness.observedAlive(peerId) },
      stop: async () => shutdown.run()
    }
  } catch (err) {
    await shutdown.run()
    throw err
  }
}
