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

/**
 * Whether a host on the internet can dial this node, and why not. Private, CGNAT,
 * documentation and reserved addresses never make a node `public`.
 */
export interface Reachability {
  /**
   * `public`: a public direct address a peer dialled back (AutoNAT v2): a UPnP mapping,
   *   a configured forward, a public listen address;
   * `configured`: a public address from `publicAddresses`, not dialled back by anyone yet;
   * `unconfirmed`: a public address seen, AutoNAT has not confirmed it, and no relay;
   * `relayed`: reachable only through circuit relay reservations (public addresses
   *   nobody dialled back are named in `why`);
   * `none`: no address a host outside the LAN could dial.
   */
  state: 'public' | 'configured' | 'unconfirmed' | 'relayed' | 'none'
  /** The addresses behind the verdict (none for `none`). */
  addresses: string[]
  /** The reason in words, naming the kind of each address that does not count. */
  why: string
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
    /** `reachability.state` is `public`: a public direct address is confirmed. */
    publiclyReachable: boolean
  }
  reachability: Reachability
  upnp: boolean
  relayServer: boolean
  /** Federation traffic (Quloud protocol streams): limits in bytes per second (null: unlimited), bytes so far (counted while a limit is set). */
  traffic: { upload: number | null, download: number | null, sent: number, received: number }
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
