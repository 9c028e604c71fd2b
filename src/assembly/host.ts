import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { createHost, type HostInit } from '../adapters/libp2p/create-host.ts'

export interface BareHostInit {
  /** Default: a fresh Ed25519 identity. */
  privateKey?: PrivateKey
  /** Default: an ephemeral TCP port on 127.0.0.1. */
  listen?: string[]
  /** The connection budget; default none (libp2p's own limits). */
  connections?: HostInit['connections']
  /** Default STREAM_WINDOW_BYTES (HostInit.maxStreamWindowBytes). */
  maxStreamWindowBytes?: number
}

/**
 * A started libp2p host with the base services only (no discovery, DHT or gossip): a
 * storage node reached by address, or a requester, in tests and benches. The daemon
 * uses the membership half instead.
 */
export async function startBareHost (init: BareHostInit = {}): Promise<Libp2p> {
  const host = await createHost({ privateKey: init.privateKey ?? await generateKeyPair('Ed25519'), listen: init.listen ?? ['/ip4/127.0.0.1/tcp/0'], connections: init.connections, maxStreamWindowBytes: init.maxStreamWindowBytes })
  await host.start()
  return host
}
