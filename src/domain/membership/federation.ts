import { InvalidInputError } from '../../errors.ts'

/** The federation every node joins unless configured otherwise. */
export const DEFAULT_FEDERATION = 'quloud'

const NAME = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/
// names whose DHT protocol would collide with public libp2p networks (/ipfs/kad/1.0.0)
const RESERVED = new Set(['ipfs', 'libp2p', 'p2p'])

/**
 * Checks a federation name: 1–32 characters of `[a-z0-9-]`, starting and ending with a
 * letter or digit, and not one that would join a public network's DHT. The name
 * separates federations on every layer: DHT protocol, gossip topic and mDNS service.
 */
export function checkFederationName (name: unknown): string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new InvalidInputError(`a federation name is 1-32 characters of a-z, 0-9 and "-", got ${JSON.stringify(name)}`)
  }
  if (RESERVED.has(name)) throw new InvalidInputError(`"${name}" is reserved: its DHT protocol would join a public libp2p network`)
  return name
}

/** The Kademlia protocol of a federation: `/quloud/kad/1.0.0` for the default one. */
export function dhtProtocol (federation: string): string {
  return `/${federation}/kad/1.0.0`
}

/**
 * The gossipsub topic on which a federation's nodes announce themselves, one per
 * announcement version (protocol-spec/announce.md): nodes of earlier builds subscribe
 * to version 1's alone and never receive version 2 messages, which they would reject.
 */
export function announceTopic (federation: string, version: 1 | 2 = 1): string {
  return `/quloud/${federation}/announce/${version}`
}

/**
 * The mDNS service name: only nodes of the same federation answer each other's
 * queries, so a LAN can host several federations (and test runs do not meet).
 */
export function mdnsServiceTag (federation: string): string {
  return `_quloud-${federation}._udp.local`
}
