import type { ConnectionGater, MultiaddrConnection } from '@libp2p/interface'
import { admissionNetworkOf, publicIpv6HostOf, publicSubnetOf } from '../../domain/membership/subnet.ts'
import { addCount } from '../../util/counts.ts'
import { RateAllowance } from '../../util/rate-allowance.ts'
import { RatePerKey } from '../../domain/resources/rate-per-key.ts'

/** Handshakes one remote host may have in progress at once. */
export const PENDING_HANDSHAKES_PER_HOST = 2

export interface PendingHandshakeLimits {
  /** Direct handshakes in progress from one remote host (an IPv4 address, an IPv6 /64). */
  perHost: number
  /** Direct handshakes in progress from one public subnet (an IPv4 /24, an IPv6 /48): its hosts together. */
  perSubnet: number
  /** Relayed handshakes in progress through one relay (the relay's host): its distinct ids together. */
  perRelay: number
  /** Relayed handshakes in progress of one remote peer id through one relay. */
  perRelayedPeer: number
  /** Relayed handshakes in progress in all, so relays never hold all of libp2p's ten slots. */
  relayed: number
  /**
   * Of `relayed`, those through peers this node holds no relay reservation on, together:
   * any connected peer may send circuit stop requests, so without it two strangers on two
   * hosts posing as relays held all `relayed` slots, and no NATed peer reached the node
   * through the relay it reserved on.
   */
  unreservedRelayed: number
}

export interface PendingGaterOptions {
  /** Whether this node holds a reservation on the relay of this peer id (unset: every relay counts as one). */
  isReservedRelay?: (relayPeerId: string) => boolean
}

export const DEFAULT_PENDING_HANDSHAKES: Readonly<PendingHandshakeLimits> = Object.freeze({
  perHost: PENDING_HANDSHAKES_PER_HOST,
  // hosts are cheap within a subnet (a rented /29, a home's IPv6 /56 of 256 /64s): per
  // host alone, five of them held all ten of libp2p's pending slots
  perSubnet: 4,
  perRelay: 4,
  perRelayedPeer: 1,
  relayed: 6,
  unreservedRelayed: 2
})

/**
 * Inbound connections not yet through their handshake. libp2p accepts at most 10
 * pending inbound connections in all and gives each 5 s (create-host.ts): 12 raw
 * sockets that never finish the handshake, one new one a second, kept every honest
 * newcomer out. Direct ones are counted per remote host (`perHost`) and per public
 * subnet (`perSubnet`, its hosts together), so one host, or one subnet's many hosts, holds
 * at most that many of the node's pending slots, and extra sockets are closed at once.
 *
 * A relayed connection arrives from the relay's host for every peer behind it, so a
 * per-host count let two stalled relayed handshakes lock all of that relay's peers out.
 * Its remote peer id is in the circuit address (`…/p2p-circuit/p2p/<id>`, named by the
 * relay and checked by Noise only once the handshake ends): each id gets
 * `perRelayedPeer` slot per relay, so one stalled id cannot hold a relay's slots, and a
 * relay naming an honest id holds a slot of its own, not that id's; fresh ids are free,
 * so the ids of one relay together get `perRelay`, and all relays `relayed`, of which
 * peers we hold no reservation on (`isReservedRelay`) `unreservedRelayed` together.
 */
export function pendingConnectionGater (limits: Partial<PendingHandshakeLimits> = {}, options: PendingGaterOptions = {}): ConnectionGater {
  const { perHost, perSubnet, perRelay, perRelayedPeer, relayed, unreservedRelayed } = { ...DEFAULT_PENDING_HANDSHAKES, ...limits }
  const pending = new Map<string, number>()
  const releases = new WeakMap<MultiaddrConnection, () => void>()
  const slotsOf = (address: string): Array<[string, number]> | undefined => {
    const circuit = address.indexOf('/p2p-circuit')
    if (circuit < 0) {
      const host = hostOf(address)
      if (host === undefined) return undefined
      const subnet = publicSubnetOf(address)
      return [[`host ${host}`, perHost], ...(subnet === undefined ? [] : [[`subnet ${subnet}`, perSubnet] as [string, number]])]
    }
    const relay = hostOf(address.slice(0, circuit)) ?? address.slice(0, circuit)
    const peer = /\/p2p-circuit\/p2p\/([^/]+)/.exec(address)?.[1]
    // the id is the relay's word, unchecked until Noise: counted across relays, any peer
    // connected to us could send stop requests naming an honest id and hold its one slot
    const relayId = /\/p2p\/([^/]+)\/p2p-circuit/.exec(address)?.[1]
    const unreserved = options.isReservedRelay !== undefined && (relayId === undefined || !options.isReservedRelay(relayId))
    return [
      ['relayed', relayed],
      [`relay ${relay}`, perRelay],
      ...(peer === undefined ? [] : [[`peer ${relay} ${peer}`, perRelayedPeer] as [string, number]]),
      ...(unreserved ? [['unreserved relays', unreservedRelayed] as [string, number]] : [])
    ]
  }
  return {
    denyInboundConnection: (maConn) => {
      const slots = slotsOf(maConn.remoteAddr.toString())
      if (slots === undefined) return false
      if (slots.some(([key, limit]) => (pending.get(key) ?? 0) >= limit)) return true
      for (const [key] of slots) addCount(pending, key, 1)
      let released = false
      const release = (): void => {
        if (released) return
        released = true
        for (const [key] of slots) addCount(pending, key, -1)
      }
      releases.set(maConn, release)
      // a failed or timed-out handshake closes the raw connection
      maConn.addEventListener('close', release, { once: true })
      return false
    },
    denyInboundUpgradedConnection: (_peer, maConn) => {
      releases.get(maConn)?.()
      return false
    }
  }
}

/** The remote host of a raw connection's address: its public /64 for IPv6, else its IP. */
function hostOf (address: string): string | undefined {
  const match = /^\/(ip4|ip6)\/([^/]+)/.exec(address)
  if (match === null) return undefined
  return match[1] === 'ip6' ? (publicIpv6HostOf(address) ?? match[2]) : match[2]
}

export interface ConnectionBudgetInit {
  /** Open connections in all (libp2p's maxConnections); strangers get `strangersShare` of them. */
  maxConnections: number
  /** Open inbound connections of strangers from one subnet (public /24 or /48, else one address). */
  maxConnectionsPerSubnet: number
  /** New inbound connections from strangers per minute, over all of them: the node-wide ceiling. */
  newConnectionsPerMinute: number
  /**
   * Of those, the most the strangers of one subnet may open a minute (a minute's worth at
   * once); unset: only the ceiling. Below the ceiling, so one subnet cannot spend it all.
   */
  newConnectionsPerSubnetPerMinute?: number
  /** New outbound connections per minute through the router (dial-budget-gater.ts); unset: not limited. */
  newDialsPerMinute?: number
  strangersShare: number
  /** Trusted and reciprocal peers: never refused by this budget, and not counted in it. */
  isKnownPeer: (peer: string) => boolean
  now?: () => number
}

/**
 * Inbound connections of strangers, decided once the handshake names the peer: at most
 * `strangersShare` of the node's connections, `maxConnectionsPerSubnet` from one
 * subnet, and `newConnectionsPerMinute` new ones (a token bucket, so a home router's
 * connection table is not flooded). Known peers pass untouched and are not counted,
 * so a flood of fresh ids fills only the strangers' part and a friend still gets in.
 *
 * The ceiling alone was one allowance for every stranger: one host reconnecting spent
 * it and kept every honest newcomer out. Each subnet also has its own
 * `newConnectionsPerSubnetPerMinute`, taken only when the ceiling has room too, so
 * an attacker needs ceiling / per-subnet subnets to lock newcomers out, not one host.
 */
export function connectionBudgetGater (init: ConnectionBudgetInit): Pick<ConnectionGater, 'denyInboundEncryptedConnection'> & { openOfStrangers: () => number } {
  const now = init.now ?? Date.now
  const strangersCap = Math.max(1, Math.floor(init.maxConnections * init.strangersShare))
  const bySubnet = new Map<string, number>()
  let strangers = 0
  const newConnections = new RateAllowance(init.newConnectionsPerMinute, now)
  const perSubnet = init.newConnectionsPerSubnetPerMinute
  const newBySubnet = perSubnet === undefined ? undefined : new RatePerKey({ perSecond: perSubnet / 60, burst: perSubnet }, now)
  return {
    denyInboundEncryptedConnection: (peer, maConn) => {
      if (init.isKnownPeer(peer.toString())) return false
      const subnet = admissionNetworkOf(maConn.remoteAddr.toString())
      const fromSubnet = bySubnet.get(subnet) ?? 0
      if (strangers >= strangersCap || fromSubnet >= init.maxConnectionsPerSubnet) return true
      // the subnet's own allowance is looked at first and taken last: a connection the
      // ceiling refuses costs its subnet nothing
      if ((newBySubnet !== undefined && newBySubnet.balanceOf(subnet) < 1) || !newConnections.take()) return true
      newBySubnet?.take(subnet)
      strangers++
      bySubnet.set(subnet, fromSubnet + 1)
      maConn.addEventListener('close', () => {
        strangers--
        addCount(bySubnet, subnet, -1)
      }, { once: true })
      return false
    },
    openOfStrangers: () => strangers
  }
}
