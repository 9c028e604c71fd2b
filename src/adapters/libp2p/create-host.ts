import { connectionBudgetGater, pendingConnectionGater, type ConnectionBudgetInit } from './pending-connection-gater.ts'
import { dialBudgetGater } from './dial-budget-gater.ts'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import type { ComponentLogger, Libp2p, PrivateKey, ServiceMap } from '@libp2p/interface'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { createLibp2p, type Libp2pOptions } from 'libp2p'
import { ConfigError } from '../../errors.ts'
import { cachedKeyNoiseCrypto } from './cached-key-noise-crypto.ts'
import { quietLibp2pLogger } from './quiet-logger.ts'
import { MAX_PAUSED_READ_BYTES, STREAM_WINDOW_BYTES } from './wire/constants.ts'

export interface HostInit<S extends ServiceMap = ServiceMap> {
  /** The node's persistent Ed25519 identity. */
  privateKey: PrivateKey
  /** Multiaddrs to listen on. */
  listen: string[]
  /** Public multiaddrs to share with peers without waiting for AutoNAT to confirm them. */
  publicAddresses?: string[]
  /** Extra libp2p services (discovery, DHT, pubsub...) merged into the base set. */
  services?: Libp2pOptions<S>['services']
  /** Extra peer discovery modules (mDNS, bootstrap). */
  peerDiscovery?: Libp2pOptions<S>['peerDiscovery']
  /** Extra transports (circuit relay) added after TCP. */
  transports?: Libp2pOptions<S>['transports']
  /** The connection budget (node-config keys); without it libp2p's defaults and no strangers' share. */
  connections?: ConnectionBudgetInit
  /** libp2p's own loggers; default quietLibp2pLogger (libp2p's when `DEBUG` is set). */
  logger?: ComponentLogger
  /**
   * The largest window yamux grows a stream's receive window to (default
   * STREAM_WINDOW_BYTES). Yamux doubles a window only at an update within four round
   * trips of the last, so what a budgeted reader reserves depends on timing; a test that
   * weighs reservations exactly pins it to yamux's first window (FIRST_STREAM_WINDOW_BYTES).
   */
  maxStreamWindowBytes?: number
}

/** Yamux's first receive window on every stream (its INITIAL_STREAM_WINDOW; peers assume it). */
export const FIRST_STREAM_WINDOW_BYTES = 256 * 1024

/** How long an inbound connection may take to finish its Noise and Yamux handshake. */
export const INBOUND_UPGRADE_TIMEOUT_MS = 5_000

export type BaseServices = { identify: ReturnType<ReturnType<typeof identify>>, ping: ReturnType<ReturnType<typeof ping>> }

/**
 * The node's libp2p host: TCP, Noise (peer ids authenticated by the handshake),
 * Yamux, identify and ping, plus what the caller adds (src/adapters/libp2p/
 * federation-services.ts adds discovery, DHT, gossip and NAT traversal). Started by
 * the caller.
 */
export async function createHost<S extends ServiceMap> (init: HostInit<S>): Promise<Libp2p<BaseServices & S>> {
  // our circuit addresses name the relays we hold a reservation on (`…/p2p/<relay>/p2p-circuit`)
  let host: Libp2p | undefined
  const isReservedRelay = (relay: string): boolean => host?.getMultiaddrs().some((a) => a.toString().includes(`/p2p/${relay}/p2p-circuit`)) ?? false
  try {
    host = await createLibp2p({
      privateKey: init.privateKey,
      start: false,
      logger: init.logger ?? quietLibp2pLogger(),
      addresses: { listen: init.listen, appendAnnounce: init.publicAddresses ?? [] },
      transports: [tcp(), ...(init.transports ?? [])],
      // same wire bytes as Noise's default crypto, ~1.3x less CPU per frame (cached-key-noise-crypto.ts)
      connectionEncrypters: [noise({ crypto: cachedKeyNoiseCrypto() })],
      // a stream's window is what its peer may send unread: budgeted readers reserve it
      // (wire/constants.ts); the initial window stays yamux's, peers with another one reset streams
      streamMuxers: [yamux({ streamOptions: { maxStreamWindowSize: init.maxStreamWindowBytes ?? STREAM_WINDOW_BYTES, maxReadBufferLength: MAX_PAUSED_READ_BYTES } })],
      peerDiscovery: init.peerDiscovery ?? [],
      // LivenessService is the one pinger. libp2p's connection monitor pinged on the
      // same protocol, whose spec allows one outbound stream per peer: when the two met,
      // or its ping was slow behind a large transfer, it aborted the whole connection
      // with every stream on it (gets and deletes failed mid-way on a busy node)
      connectionMonitor: { enabled: false },
      // a host gets two handshakes in progress and five seconds for each: half-open
      // sockets from one address cannot hold the node's ten pending slots
      connectionGater: {
        ...pendingConnectionGater({}, { isReservedRelay }),
        // once the handshake names the peer: strangers get their share, known peers pass
        ...(init.connections === undefined ? {} : connectionBudgetGater(init.connections)),
        // and our own new connections through the router, however many holders a put has
        ...(init.connections?.newDialsPerMinute === undefined ? {} : dialBudgetGater({ newDialsPerMinute: init.connections.newDialsPerMinute, isKnownPeer: init.connections.isKnownPeer }))
      },
      connectionManager: {
        inboundUpgradeTimeout: INBOUND_UPGRADE_TIMEOUT_MS,
        ...(init.connections === undefined ? {} : { maxConnections: init.connections.maxConnections })
      },
      services: {
        identify: identify(),
        ping: ping(),
        ...(init.services ?? {})
      } as any
    }) as unknown as Libp2p
    return host as Libp2p<BaseServices & S>
  } catch (err: any) {
    throw new ConfigError(`cannot create the libp2p host: ${err?.message}`, { cause: err })
  }
}
