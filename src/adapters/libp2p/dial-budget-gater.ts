import type { ConnectionGater } from '@libp2p/interface'
import { RateAllowance } from '../../util/rate-allowance.ts'
import { addressScope } from './address-kinds.ts'

export interface DialBudgetInit {
  /** New outbound connections per minute through the router (burst: as many). */
  newDialsPerMinute: number
  /** Trusted and reciprocal peers: dialled whatever the allowance, and not counted in it. */
  isKnownPeer?: (peer: string) => boolean
  now?: () => number
}

/**
 * The node's own new connections, as a home router sees them: each dial of an address
 * that leaves the machine takes one of `newDialsPerMinute`, and a dial with none left is
 * refused at once (libp2p fails it as denied; the DHT, discovery and puts try again
 * later). Inbound connections are bounded by connectionBudgetGater; this bounds the
 * other direction, which a put to many holders or a DHT walk otherwise leaves open,
 * so the router's connection table cannot be flooded from inside the home either.
 * Loopback and link-local dials never reach the router, and a relayed dial is a stream
 * on a connection already open, so none of them is counted. Neither are dials to known
 * peers (the address names its peer): announcements of many fresh identities make the
 * node probe them, and that must not use up the dials to the peers it stores with.
 */
export function dialBudgetGater (init: DialBudgetInit): Pick<ConnectionGater, 'denyDialMultiaddr'> & { refused: () => number } {
  const allowance = new RateAllowance(init.newDialsPerMinute, init.now)
  let refused = 0
  return {
    denyDialMultiaddr: (address) => {
      const scope = addressScope(address.toString())
      if (scope === 'loopback' || scope === 'link-local' || scope === 'relayed') return false
      const peer = address.getComponents().findLast((c) => c.name === 'p2p')?.value
      if (peer !== undefined && init.isKnownPeer?.(peer) === true) return false
      if (allowance.take()) return false
      refused++
      return true
    },
    refused: () => refused
  }
}
