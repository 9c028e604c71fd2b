import type { Connection } from '@libp2p/interface'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'

/** How often unverified mappings are looked for, and how long before the same set is asked about again. */
const MAPPING_CHECK_MS = 5_000
const MAPPING_ASK_AGAIN_MS = 5 * 60_000
/** Peers asked at once to dial a new mapping back. */
const MAPPING_VERIFIERS = 8

/** One of this node's addresses as libp2p's address manager sees it. */
export interface NodeAddress {
  multiaddr: string
  /** transport (a listener), announce (configured), observed (a peer saw it), ip-mapping (UPnP, or a configured port forward), dns-mapping. */
  type: string
  /** Confirmed dialable (AutoNAT, UPnP) or trusted (listeners, configured). */
  verified: boolean
}

/** Read access to the address manager, which libp2p does not expose on the node. */
export interface NodeAddresses {
  list (): NodeAddress[]
}

interface AddressManagerLike {
  getAddressesWithMetadata (): Array<{ multiaddr: Multiaddr, type: string, verified: boolean }>
  addPublicAddressMapping (internalIp: string, internalPort: number, externalIp: string, externalPort?: number, protocol?: 'tcp' | 'udp'): void
}

interface NodeAddressesComponents {
  addressManager: AddressManagerLike
  transportManager: { getAddrs (): Multiaddr[] }
  connectionManager: { getConnections (): Connection[] }
  events: EventTarget
}

/** AutoNAT v2's client, which asks the peer on `connection` to dial our unverified addresses back. */
interface AddressVerifier { client?: { verifyExternalAddresses (connection: Connection): Promise<void> } }

interface TcpEndpoint { host: string, port: number }

/**
 * A tiny libp2p service that keeps the components' address manager, so the status
 * API can say which addresses are observed, mapped or confirmed by AutoNAT.
 *
 * Each configured public address (`publicAddresses`, a manual port forward) is also
 * entered as an IP mapping of the TCP listener it forwards to. libp2p announces a
 * configured address as trusted and never asks AutoNAT about it; as a mapping it stays
 * unverified until a peer dials it back, so `status` can tell a forward that works
 * from one that was only typed in.
 *
 * AutoNAT asks a peer to dial us back only when a connection to it opens. A UPnP mapping
 * is made seconds after start, when the node is already connected to everyone it knows,
 * so it could wait for a new peer forever (the lab showed it). Every few seconds this
 * service looks for mappings nobody confirmed yet and has AutoNAT ask the peers it is
 * connected to: once per new set of mappings, again after a while if still unconfirmed.
 */
export function nodeAddresses ({ publicAddresses = [] }: { publicAddresses?: string[] } = {}): (components: NodeAddressesComponents) => NodeAddresses {
  const forwards = publicAddresses.map(tcpEndpoint).filter((e): e is TcpEndpoint => e !== undefined)
  return (components) => {
    const mapped = new Set<string>()
    const mapForwards = (): void => {
      const listeners = components.transportManager.getAddrs().map(tcpEndpoint)
        .filter((e): e is TcpEndpoint => e !== undefined && !e.host.startsWith('127.'))
      for (const forward of forwards) {
        // a forward usually keeps the port; otherwise it can only go to the one TCP port we listen on
        const samePort = listeners.filter((l) => l.port === forward.port)
        const targets = samePort.length > 0 ? samePort : new Set(listeners.map((l) => l.port)).size === 1 ? listeners : []
        for (const target of targets) {
          const key = `${target.host}:${target.port}>${forward.host}:${forward.port}`
          if (mapped.has(key)) continue
          mapped.add(key)
          components.addressManager.addPublicAddressMapping(target.host, target.port, forward.host, forward.port, 'tcp')
        }
      }
    }
    let asked = { key: '', at: 0 }
    const verifyMappings = (): void => {
      const pending = components.addressManager.getAddressesWithMetadata().filter((a) => a.type === 'ip-mapping' && !a.verified)
      const key = pending.map((a) => a.multiaddr.toString()).sort().join(' ')
      if (key === '' || (key === asked.key && Date.now() - asked.at < MAPPING_ASK_AGAIN_MS)) return
      const verifier = autoNatOf(components)
      if (verifier === undefined) return
      asked = { key, at: Date.now() }
      const peers = new Set<string>()
      for (const connection of components.connectionManager.getConnections()) {
        const peer = connection.remotePeer.toString()
        if (connection.status !== 'open' || peers.has(peer) || peers.size >= MAPPING_VERIFIERS) continue
        peers.add(peer)
        verifier.verifyExternalAddresses(connection).catch(() => {})
      }
    }
    let timer: ReturnType<typeof setInterval> | undefined
    return {
      start: () => {
        if (forwards.length > 0) components.events.addEventListener('transport:listening', mapForwards)
        timer = setInterval(verifyMappings, MAPPING_CHECK_MS)
        timer.unref()
      },
      stop: () => {
        components.events.removeEventListener('transport:listening', mapForwards)
        clearInterval(timer)
      },
      list: () => components.addressManager.getAddressesWithMetadata().map((a) => ({
        multiaddr: a.multiaddr.toString(),
        type: a.type,
        verified: a.verified
      }))
    } satisfies NodeAddresses & { start: () => void, stop: () => void }
  }
}

/** The AutoNAT client, when the host runs AutoNAT (libp2p's components throw for a missing service). */
function autoNatOf (components: NodeAddressesComponents): AddressVerifier['client'] {
  try {
    return (components as unknown as { autoNAT?: AddressVerifier }).autoNAT?.client
  } catch {
    return undefined
  }
}

/** The IPv4 host and TCP port of a direct address, or undefined for anything else. */
function tcpEndpoint (addr: string | Multiaddr): TcpEndpoint | undefined {
  try {
    const [ip, tcp] = (typeof addr === 'string' ? multiaddr(addr) : addr).getComponents()
    if (ip?.name !== 'ip4' || tcp?.name !== 'tcp' || ip.value === undefined || tcp.value === undefined) return undefined
    return { host: ip.value, port: Number(tcp.value) }
  } catch {
    return undefined
  }
}
