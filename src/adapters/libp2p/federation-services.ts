import { autoNATv2 } from '@libp2p/autonat-v2'
import { bootstrap } from '@libp2p/bootstrap'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { dcutr } from '@libp2p/dcutr'
import { gossipsub, StrictSign, type GossipSub } from '@libp2p/gossipsub'
import { createTopicScoreParams } from '@libp2p/gossipsub/score'
import type { PeerDiscovery, PeerInfo } from '@libp2p/interface'
import { kadDHT, passthroughMapper, type KadDHT } from '@libp2p/kad-dht'
import { mdns } from '@libp2p/mdns'
import { uPnPNAT } from '@libp2p/upnp-nat'
import { multiaddr } from '@multiformats/multiaddr'
import { announceTopic, dhtProtocol, mdnsServiceTag } from '../../domain/membership/federation.ts'
import type { DhtMode } from '../../domain/config/node-config.ts'
import type { HostInit } from './create-host.ts'
import { directUpgrade } from './direct-upgrade.ts'
import { nodeAddresses, type NodeAddresses } from './node-addresses.ts'
import { gatedRelayServer, type GatedRelay } from './relay-gate.ts'

export interface FederationNetworkSettings {
  federation: string
  /** The host's listen addresses; loopback-only hosts skip AutoNAT and DCUtR. */
  listen: string[]
  mdns: boolean
  /** Multiaddrs ending in /p2p/<peer id>. */
  bootstrap: string[]
  dhtMode: DhtMode
  relayServer: boolean
  /** The relay server's gate (relay-gate.ts); unset: its defaults. */
  relayReservations?: number
  relayReservationsPerSubnet?: number
  relayStrangerRate?: number
  /** Trusted and reciprocal peers, whom the relay prefers and does not meter. */
  isKnownPeer?: (peer: string) => boolean
  upnp: boolean
  /** Addresses a router forwards to this node (`publicAddresses`): AutoNAT checks each. */
  publicAddresses?: string[]
  /** Called for every peer mDNS or bootstrap reports, each time it is reported. */
  onDiscovered?: (peer: PeerInfo) => void
}

/** The services membership relies on; the NAT ones are present only when enabled. */
export type FederationServices = {
  pubsub: GossipSub
  dht: KadDHT
  nodeAddresses: NodeAddresses
  autoNAT?: unknown
  dcutr?: unknown
  directUpgrade?: unknown
  upnp?: unknown
  relay?: GatedRelay
}

/** Invalid announcements weigh this much each (squared) on the sender's gossipsub score. */
const INVALID_ANNOUNCEMENT_WEIGHT = -20

/**
 * The libp2p modules that make a host a federation member, for `createHost`:
 *
 * - discovery: mDNS (federation-specific service name) and bootstrap peers;
 * - Kademlia DHT on the federation's own protocol (`/<federation>/kad/1.0.0`), keeping
 *   private addresses (federations span LANs); server mode follows `dhtMode`, and in
 *   `auto` libp2p switches to server once the host has a public address;
 * - gossipsub with StrictSign and peer scoring on the announce topic, so rejected
 *   announcements lower the sender's score (P4); IP colocation is not penalised because
 *   NAS nodes share home routers and relays;
 * - NAT traversal: the circuit relay v2 transport always (dials relayed addresses; it
 *   reserves slots when `/p2p-circuit` is a listen address), DCUtR and AutoNAT unless
 *   every listen address is loopback, UPnP and the relay server when asked for;
 *   DirectUpgrade re-runs DCUtR's unilateral upgrade when a relayed peer later
 *   announces a public address (after UPnP or AutoNAT confirmed it);
 *   AutoNAT is v2: its server dials the asked address on a new connection and proves
 *   the dial with a nonce. v1's server reuses the connection the request came on, so it
 *   can never confirm the address of a node that dialled it (every node behind a
 *   forward or a UPnP mapping), and its false failures would unconfirm what v2 confirmed.
 */
export function federationHostOptions (settings: FederationNetworkSettings): Pick<HostInit<any>, 'services' | 'peerDiscovery' | 'transports'> {
  const topics = [announceTopic(settings.federation, 1), announceTopic(settings.federation, 2)]
  const services: Record<string, unknown> = {
    pubsub: gossipsub({
      globalSignaturePolicy: StrictSign,
      allowPublishToZeroTopicPeers: true,
      emitSelf: false,
      allowedTopics: topics,
      scoreParams: {
        IPColocationFactorWeight: 0,
        topics: Object.fromEntries(topics.map((topic) => [topic, createTopicScoreParams({
          topicWeight: 1,
          timeInMeshWeight: 0,
          firstMessageDeliveriesWeight: 0,
          meshMessageDeliveriesWeight: 0, // announcements are rare: silence is normal
          meshFailurePenaltyWeight: 0,
          invalidMessageDeliveriesWeight: INVALID_ANNOUNCEMENT_WEIGHT,
          invalidMessageDeliveriesDecay: 0.99
        })]))
      }
    }),
    dht: kadDHT({
      protocol: dhtProtocol(settings.federation),
      clientMode: settings.dhtMode === 'auto' ? undefined : settings.dhtMode === 'client',
      peerInfoMapper: passthroughMapper,
      logPrefix: 'libp2p:quloud-dht',
      datastorePrefix: '/quloud-dht',
      metricsPrefix: 'quloud_dht'
    }),
    nodeAddresses: nodeAddresses({ publicAddresses: settings.publicAddresses })
  }
  if (!isLoopbackOnly(settings.listen)) {
    services.autoNAT = autoNATv2()
    services.dcutr = dcutr()
    services.directUpgrade = directUpgrade()
  }
  if (settings.upnp) services.upnp = uPnPNAT()
  // gated, with no cap the peers see: federation peers that cannot punch a hole (symmetric
  // NAT) store and retrieve through the relay, and libp2p's 128 KiB default ends a put at once
  if (settings.relayServer) {
    services.relay = gatedRelayServer({
      limits: { reservations: settings.relayReservations, reservationsPerSubnet: settings.relayReservationsPerSubnet, strangerRate: settings.relayStrangerRate },
      isKnownPeer: settings.isKnownPeer
    })
  }

  const peerDiscovery: Array<(components: any) => PeerDiscovery> = []
  if (settings.mdns) peerDiscovery.push(tap(mdns({ serviceTag: mdnsServiceTag(settings.federation) }), settings.onDiscovered))
  if (settings.bootstrap.length > 0) peerDiscovery.push(tap(bootstrap({ list: settings.bootstrap }), settings.onDiscovered))

  return { services: services as any, peerDiscovery, transports: [circuitRelayTransport()] }
}

/** True when every listen address is on a loopback interface (tests, local-only nodes). */
export function isLoopbackOnly (listen: string[]): boolean {
  return listen.every((addr) => {
    const first = multiaddr(addr).getComponents()[0]
    return (first?.name === 'ip4' && first.value?.startsWith('127.') === true) || (first?.name === 'ip6' && first.value === '::1')
  })
}

/** Wraps a discovery module so every peer it reports (not only new ones) reaches `listener`. */
function tap (factory: (components: any) => PeerDiscovery, listener?: (peer: PeerInfo) => void): (components: any) => PeerDiscovery {
  if (listener === undefined) return factory
  return (components) => {
    const discovery = factory(components)
    discovery.addEventListener('peer', (evt) => { listener(evt.detail) })
    return discovery
  }
}
