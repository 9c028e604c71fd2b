import type { ConnectionGater, MultiaddrConnection } from '@libp2p/interface'
import { publicSubnetOf } from '../../domain/membership/subnet.ts'

/** Handshakes one remote host may have in progress at once. */
export const PENDING_HANDSHAKES_PER_HOST = 2

/**
 * Inbound connections not yet through their handshake, counted per remote host (an IPv4
 * address, an IPv6 /64). libp2p accepts at most 10 pending inbound connections in all
 * and gives each 10 s: 12 raw sockets that never finish the handshake, one new one a
 * second, kept every honest newcomer out. Refused past `perHost`, one host holds at most
 * that many of the node's pending slots, and its extra sockets are closed at once.
 */
export function pendingConnectionGater (perHost = PENDING_HANDSHAKES_PER_HOST): ConnectionGater {
  const pending = new Map<string, number>()
  const releases = new WeakMap<MultiaddrConnection, () => void>()
  return {
    denyInboundConnection: (maConn) => {
      const host = hostOf(maConn.remoteAddr.toString())
      if (host === undefined) return false
      const now = pending.get(host) ?? 0
      if (now >= perHost) return true
      pending.set(host, now + 1)
      let released = false
      const release = (): void => {
        if (released) return
        released = true
        const left = (pending.get(host) ?? 1) - 1
        if (left <= 0) pending.delete(host)
        else pending.set(host, left)
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
  return match[1] === 'ip6' ? (publicSubnetOf(address) ?? match[2]) : match[2]
}
