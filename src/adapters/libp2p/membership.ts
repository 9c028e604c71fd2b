import type { Libp2p, PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { NetworkStatus, PeersResponse } from '../../app/federation-status.ts'
import type { PingFn } from '../../app/liveness-service.ts'
import { isPublicAddress, isRelayed, reachabilityOf } from './address-kinds.ts'
import { trafficLimitStatus, type TrafficLimit } from './wire/traffic-limit.ts'
import { ANNOUNCEMENT_LIMITS } from '../../domain/membership/announcement.ts'
import type { NodeConfig } from '../../domain/config/node-config.ts'
import { uptimeRatio, type LivePeer } from '../../domain/membership/peer-entry.ts'
import { publicSubnetOf } from '../../domain/membership/subnet.ts'
import type { AbortOptions } from '../../ports/abort-options.ts'
import type { PeerBook } from '../../ports/peer-book.ts'
import type { BaseServices } from './create-host.ts'
import type { AnnouncementStats } from './federation-announcer.ts'
import type { FederationServices } from './federation-services.ts'

// What membership needs from libp2p, as plain functions; the services that use them
// are built and wired in src/assembly/membership.ts.

export type FederationHost = Libp2p<BaseServices & FederationServices>

/** Pings through libp2p's ping service. */
export function pingOver (host: FederationHost): PingFn {
  return async (peerId, options) => host.services.ping.ping(peerIdFromString(peerId), options)
}

/** Peers in the DHT routing table (the table is not part of the DHT's interface). */
export function dhtPeerCount (host: FederationHost): number {
  return (host.services.dht as unknown as { routingTable?: { size: number } }).routingTable?.size ?? 0
}

/** Calls `listener` with the peer id of every new connection; returns the unsubscribe. */
export function onPeerConnect (host: Pick<Libp2p, 'addEventListener' | 'removeEventListener'>, listener: (peerId: string) => void): () => void {
  const onConnect = (evt: CustomEvent<PeerId>): void => listener(evt.detail.toString())
  host.addEventListener('peer:connect', onConnect)
  return () => host.removeEventListener('peer:connect', onConnect)
}

/** At most the schema's number of addresses, directly dialable public ones first. */
export function shareableAddresses (addrs: string[]): string[] {
  const rank = (a: string): number => isPublicAddress(a) ? 0 : isRelayed(a) ? 1 : a.startsWith('/ip4/127.') || a.startsWith('/ip6/::1/') ? 3 : 2
  return addrs
    .filter((a) => a.length <= ANNOUNCEMENT_LIMITS.maxAddressLength)
    .sort((a, b) => rank(a) - rank(b))
    .slice(0, ANNOUNCEMENT_LIMITS.maxAddresses)
}

/** Gives libp2p's in-memory peer store the addresses of a peer (its own /p2p/ suffix removed). */
export async function rememberAddresses (host: FederationHost, peerId: string, addrs: string[]): Promise<void> {
  if (addrs.length === 0 || peerId === host.peerId.toString()) return
  const multiaddrs = addrs.map((a) => multiaddr(a)).map((a) => a.getComponents().at(-1)?.name === 'p2p' ? a.decapsulateCode(421) : a)
  await host.peerStore.merge(peerIdFromString(peerId), { multiaddrs })
}

/**
 * The addresses placement groups a peer by (src/domain/membership/placement-groups.ts):
 * the remote addresses of its open direct connections, which a TCP or QUIC handshake
 * vouches for; else those of its relayed connections, which name the relay this node
 * dialled (placement groups the peer by that relay, not by what it claims). Not
 * connected, a peer that hangs up after every probe would otherwise be placed under
 * any address it claims: only its first claim in the subnet the book saw it answer from
 * counts, and without one, none (placement then puts it with the peers that have no
 * public address).
 */
export function placementAddresses (host: Pick<Libp2p, 'getConnections'>, peer: Pick<LivePeer, 'peerId' | 'addresses' | 'subnet'>): string[] {
  const observed = host.getConnections(peerIdFromString(peer.peerId)).map((c) => c.remoteAddr.toString())
  const direct = observed.filter((a) => !isRelayed(a))
  if (direct.length > 0) return [...new Set(direct)]
  if (observed.length > 0) return [...new Set(observed)]
  return peer.subnet === undefined ? [] : peer.addresses.filter((a) => publicSubnetOf(a) === peer.subnet).slice(0, 1)
}

/**
 * The subnet a peer answers from, as the book counts it: the public subnet of its direct
 * connections; undefined when it has none (relayed only, or private). Relayed peers are
 * not grouped by relay: honest home nodes share relays, and a relay's clients would then
 * share one subnet's slots of the book.
 */
export function answeringSubnet (host: Pick<Libp2p, 'getConnections'>, peerId: string): string | undefined {
  for (const connection of host.getConnections(peerIdFromString(peerId))) {
    // publicSubnetOf puts relayed addresses in none
    const subnet = publicSubnetOf(connection.remoteAddr.toString())
    if (subnet !== undefined) return subnet
  }
  return undefined
}

/** Drops a peer from libp2p's peer store unless it is connected: claimed addresses of a peer that never answered are not kept. */
export async function forgetUnconnected (host: FederationHost, peerId: string): Promise<void> {
  if (peerId === host.peerId.toString()) return
  const id = peerIdFromString(peerId)
  if (host.getConnections(id).length > 0) return
  await host.peerStore.delete(id).catch(() => {})
}

export interface MembershipView {
  host: FederationHost
  book: PeerBook
  config: Pick<NodeConfig, 'federation' | 'mdns' | 'bootstrap' | 'upnp' | 'relayServer'>
  proofSystemId: string
  livePeers: (options?: AbortOptions) => Promise<LivePeer[]>
  announcements: () => AnnouncementStats
  /** The node's federation traffic limit, when one is set. */
  traffic?: TrafficLimit
}

/** The answer to `GET /v1/peers`: the book, with what libp2p knows of each peer now. */
export async function peersOf (view: MembershipView, options?: AbortOptions): Promise<PeersResponse> {
  const entries = await view.book.list(options)
  return {
    federation: view.config.federation,
    proofSystemId: view.proofSystemId,
    peers: entries.map((entry) => {
      const via = view.host.getConnections(peerIdFromString(entry.peerId)).map((c) => c.remoteAddr.toString())
      return { ...entry, connected: via.length > 0, uptimeRatio: uptimeRatio(entry.liveness), via }
    }),
    live: (await view.livePeers(options)).length,
    announcements: { ...view.announcements() }
  }
}

/** How the node is reachable, from libp2p's address manager and services. */
export async function networkOf (view: MembershipView, options?: AbortOptions): Promise<NetworkStatus> {
  const { host, config } = view
  const known = host.services.nodeAddresses.list()
  const announced = host.getMultiaddrs().map((a) => a.toString())
  const reachability = reachabilityOf(known, announced.filter(isRelayed))
  return {
    federation: config.federation,
    dhtMode: host.services.dht.getMode(),
    mdns: config.mdns,
    bootstrap: config.bootstrap,
    listen: known.filter((a) => a.type === 'transport').map((a) => a.multiaddr),
    announced,
    observed: known.filter((a) => a.type === 'observed').map((a) => ({ address: a.multiaddr, verified: a.verified })),
    relay: announced.filter(isRelayed),
    autonat: { enabled: host.services.autoNAT !== undefined, publiclyReachable: reachability.state === 'public' },
    reachability,
    upnp: config.upnp,
    relayServer: config.relayServer,
    traffic: trafficLimitStatus(view.traffic),
    peers: { connected: host.getPeers().length, known: await view.book.count(options), live: (await view.livePeers(options)).length, dht: dhtPeerCount(host) }
  }
}
