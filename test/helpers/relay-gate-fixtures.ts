import { randomBytes } from 'node:crypto'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import type { Libp2p } from '@libp2p/interface'
import { ping } from '@libp2p/ping'
import { tcp, type TCPSocketOptions } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { createHost } from '../../src/adapters/libp2p/create-host.ts'
import { federationHostOptions, type FederationServices } from '../../src/adapters/libp2p/federation-services.ts'
import type { FederationHost } from '../../src/adapters/libp2p/membership.ts'
import { DEFAULT_CONFIG, type NodeConfig } from '../../src/domain/config/node-config.ts'

/** A started relay server on 127.0.0.1 with its gate's settings (a federation of its own, mDNS off). */
export async function gatedRelay (settings: Partial<NodeConfig> & { isKnownPeer: (peer: string) => boolean }): Promise<FederationHost> {
  const relay = await createHost<FederationServices>({
    privateKey: await generateKeyPair('Ed25519'),
    listen: ['/ip4/127.0.0.1/tcp/0'],
    ...federationHostOptions({
      ...DEFAULT_CONFIG,
      listen: ['/ip4/127.0.0.1/tcp/0'],
      federation: `relay-gate-${randomBytes(4).toString('hex')}`,
      mdns: false,
      relayServer: true,
      ...settings
    })
  }) as FederationHost
  await relay.start()
  return relay
}

/** A client dialling `relay` from `localAddress` (loopback) that asks it for a reservation (it listens on /p2p-circuit). */
export async function relayClient (relay: Libp2p, localAddress: string, clients: Libp2p[]): Promise<Libp2p> {
  const host = await createLibp2p({
    privateKey: await generateKeyPair('Ed25519'),
    addresses: { listen: ['/p2p-circuit'] },
    transports: [tcp({ dialOpts: { localAddress } as unknown as TCPSocketOptions }), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false },
    services: { identify: identify(), ping: ping() }
  }) as unknown as Libp2p
  clients.push(host)
  await host.start()
  await host.dial(relay.getMultiaddrs()[0]!)
  return host
}
