import type { PeerEntry } from '../domain/membership/peer-entry.ts'

/** One peer as `GET /v1/peers` shows it. */
export interface PeerView extends PeerEntry {
  /** A libp2p connection to the peer is open now. */
  connected: boolean
  /** successes / probes. */
  uptimeRatio: number
  /** Remote addresses of the open connections: a `/p2p-circuit` one goes through a relay. */
  via: string[]
}

/** The answer to `GET /v1/peers` (`quloud peers`). */
export interface PeersResponse {
  federation: string
  proofSystemId: string
  /** Every peer in the book, ordered by peer id. */
  peers: PeerView[]
  /** How many of them are live (reachable, announcing, same proof system). */
  live: number
  announcements: { sent: number, accepted: number, rejected: number, ignored: number, dialled?: number, admitted?: number }
}

/** How the node is reachable: part of `GET /v1/status`. */
export interface NetworkStatus {
  federation: string
  /** `server` answers DHT queries; `client` only asks. */
  dhtMode: 'client' | 'server'
  mdns: boolean
  bootstrap: string[]
  /** Addresses the transports listen on. */
  listen: string[]
  /** Addresses shared with peers (identify, announcements). */
  announced: string[]
  /** Addresses peers reported seeing us at; `verified` once confirmed dialable. */
  observed: Array<{ address: string, verified: boolean }>
  /** Relayed addresses (circuit relay v2 reservations). */
  relay: string[]
  autonat: {
    /** AutoNAT runs (not on loopback-only nodes). */
    enabled: boolean
    /** Some announced address is public and direct: AutoNAT, UPnP or a public listener confirmed it. */
    publiclyReachable: boolean
  }
  upnp: boolean
  relayServer: boolean
  peers: {
    /** Open connections to distinct peers. */
    connected: number
    /** Peers in the peer book. */
    known: number
    /** Live peers in the book. */
    live: number
    /** Peers in the DHT routing table. */
    dht: number
  }
}
