import type { Multiaddr } from '@multiformats/multiaddr'

/** One of this node's addresses as libp2p's address manager sees it. */
export interface NodeAddress {
  multiaddr: string
  /** transport (a listener), announce (configured), observed (a peer saw it), ip-mapping (UPnP), dns-mapping. */
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
}

/**
 * A tiny libp2p service that keeps the components' address manager, so the status
 * API can say which addresses are observed, mapped or confirmed by AutoNAT.
 */
export function nodeAddresses (): (components: { addressManager: AddressManagerLike }) => NodeAddresses {
  return (components) => ({
    list: () => components.addressManager.getAddressesWithMetadata().map((a) => ({
      multiaddr: a.multiaddr.toString(),
      type: a.type,
      verified: a.verified
    }))
  })
}
