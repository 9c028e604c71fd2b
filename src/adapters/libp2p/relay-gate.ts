import { AsyncLocalStorage } from 'node:async_hooks'
import { circuitRelayServer, type CircuitRelayServerComponents, type CircuitRelayService, type RelayReservation } from '@libp2p/circuit-relay-v2'
import type { Connection, ConnectionGater, PeerId, Stream } from '@libp2p/interface'
import { admissionNetworkOf } from '../../domain/membership/subnet.ts'
import { relayMeter, type RelayMeter, type RelayMeterStats } from './relay-meter.ts'

export interface RelayLimits {
  /** Reservations the relay holds at once (libp2p's maxReservations). */
  reservations: number
  /** Reservations the strangers of one network (public /24 or /48, else one address) may hold together. */
  reservationsPerSubnet: number
  /**
   * Bytes per second, both ways together, the relayed connections of one stranger may
   * carry: those to one reservation holder, and those from one source network. Known
   * peers are not metered.
   */
  strangerRate: number
}

/**
 * A third of the reservations per network, as placement allows a third of a file's
 * copies per subnet: homes of one ISP share /24s (the NAT lab's four NATed homes all
 * reach the relay from one), and two per /24 kept the lab's fourth home from reserving.
 */
export const DEFAULT_RELAY_LIMITS: Readonly<RelayLimits> = Object.freeze({
  reservations: 15,
  reservationsPerSubnet: 5,
  strangerRate: 2 * 2 ** 20
})

export interface RelayGateInit {
  limits?: { [K in keyof RelayLimits]?: RelayLimits[K] | undefined }
  /** Trusted and reciprocal peers: preferred for reservations, never metered. */
  isKnownPeer?: (peer: string) => boolean
}

/** What the relay has refused and let through, for status and tests. */
export interface RelayGateStats extends RelayMeterStats {
  reservationsRefused: number
  reservationsEvicted: number
  /** Peers whose last reservation request was refused. */
  refused: Set<string>
}

/** A relay server with its gate (`relay.gate`). */
export type GatedRelay = CircuitRelayService & { gate: RelayGateStats }

/**
 * libp2p's circuit relay v2 server behind a gate. Its own limits do not fit a storage
 * federation: the per-connection cap (128 KiB, 2 min) ended every relayed put, and
 * any limit it states makes both ends treat the connection as limited, on which no
 * Quloud protocol runs. Without them, any holder of one of its reservations got
 * unlimited traffic. The gate, which the peers never see:
 *
 * - reservations: a stranger's network holds at most `reservationsPerSubnet` of them
 *   (free ids cannot take all slots from one address); when the relay is full, a
 *   trusted or reciprocal peer takes the oldest stranger's slot (its circuits end);
 * - traffic: each relayed connection is metered on the relay, both ways, against the
 *   bucket of its reservation holder and that of its source's network, each
 *   `strangerRate` (known peers have none). A circuit over its rate is paused, so yamux
 *   stops granting the sender window: a relayed put slows to the rate and survives. A
 *   side whose peer does not read is paused as well, so the relay buffers at most a
 *   yamux window per stream instead of all a sender pushes.
 *
 * The meter is relay-meter.ts. The gate hooks the server at two points libp2p leaves
 * public on the instance, onHop (the hop stream and its connection, kept for the request
 * in an AsyncLocalStorage) and stopHop (the stream to the destination), and at the
 * connection gater's reservation check.
 */
export function gatedRelayServer (init: RelayGateInit = {}): (components: CircuitRelayServerComponents) => GatedRelay {
  // settings left unset arrive as undefined: they keep the defaults
  const limits: RelayLimits = { ...DEFAULT_RELAY_LIMITS, ...Object.fromEntries(Object.entries(init.limits ?? {}).filter(([, v]) => v !== undefined)) }
  const isKnown = init.isKnownPeer ?? (() => false)
  return (components) => {
    const stats: RelayGateStats = { reservationsRefused: 0, reservationsEvicted: 0, refused: new Set(), meteredBytes: 0, pauses: 0 }
    const meter = relayMeter(limits.strangerRate, isKnown, stats)
    let server: CircuitRelayService | undefined
    let gater: ConnectionGater | undefined
    // admitted, not yet in the store: libp2p reserves a few microtasks after the gater
    // answers, so two requests at once would both see the room one of them takes
    const admitting: Reserved[] = []
    const gatedComponents = new Proxy(components, {
      get: (target, prop) => {
        if (prop !== 'connectionGater') return Reflect.get(target, prop)
        gater ??= {
          ...target.connectionGater,
          denyInboundRelayReservation: async (peer) => {
            if (await target.connectionGater.denyInboundRelayReservation?.(peer) === true) return true
            const network = networkOfPeer(target, peer)
            const held = reservationsOf(server!, meter).filter((r) => {
              // libp2p keeps a reservation its whole TTL (2 h) after the holder hung up, and the
              // relay cannot reach a departed holder: counted, a few networks' ids that reserve
              // and leave kept the relay full for strangers at a handshake per slot
              if (components.connectionManager.getConnections(r.id).length > 0) return true
              r.drop()
              return false
            })
            const admitted = admitReservation(peer, [...held, ...admitting.filter((a) => !held.some((r) => r.peer === a.peer))], limits, isKnown, network, stats)
            if (admitted) {
              stats.refused.delete(peer.toString())
              const entry = { peer: peer.toString(), network: network ?? '', expiry: Date.now(), evict: () => {} }
              admitting.push(entry)
              setImmediate(() => { admitting.splice(admitting.indexOf(entry), 1) })
            } else {
              stats.reservationsRefused++
              stats.refused.add(peer.toString())
            }
            return !admitted
          }
        }
        return gater
      }
    })
    server = circuitRelayServer({ reservations: { applyDefaultLimit: false, maxReservations: limits.reservations } })(gatedComponents)
    hook(server, meter)
    return Object.assign(server, { gate: stats })
  }
}

interface Hookable {
  onHop: (stream: Stream, connection: Connection) => Promise<void>
  stopHop: (request: { connection: Connection }, options: unknown) => Promise<Stream | undefined>
  reservations: Map<PeerId, RelayReservation> | Iterable<[PeerId, RelayReservation]>
}

function hook (server: CircuitRelayService, meter: RelayMeter): void {
  const hookable = server as unknown as Hookable
  const hops = new AsyncLocalStorage<{ stream: Stream, connection: Connection }>()
  const onHop = hookable.onHop
  hookable.onHop = async (stream, connection) => hops.run({ stream, connection }, async () => onHop(stream, connection))
  const stopHop = hookable.stopHop.bind(server)
  hookable.stopHop = async (request, options) => {
    const destination = await stopHop(request, options)
    const hop = hops.getStore()
    if (destination !== undefined && hop !== undefined) meter.circuit(hop, { stream: destination, connection: request.connection })
    return destination
  }
}

interface Reserved { peer: string, network: string, expiry: number, evict: () => void }

interface HeldReservation extends Reserved {
  id: PeerId
  /** Forgets the reservation without counting an eviction. */
  drop: () => void
}

function reservationsOf (server: CircuitRelayService, meter: RelayMeter): HeldReservation[] {
  const map = (server as unknown as Hookable).reservations as unknown as { entries: () => Iterable<[PeerId, RelayReservation]>, delete: (peer: PeerId) => void }
  return [...map.entries()].map(([peer, r]) => {
    const drop = (): void => {
      // its timer would otherwise delete whatever reservation the peer holds when it fires
      r.signal.clear()
      map.delete(peer)
    }
    return {
      id: peer,
      peer: peer.toString(),
      network: admissionNetworkOf(r.addr.toString()),
      expiry: r.expiry.getTime(),
      drop,
      evict: () => {
        drop()
        meter.endCircuitsOf(peer.toString())
      }
    }
  })
}

/** The network of the direct connection a reservation request came over. */
function networkOfPeer (components: CircuitRelayServerComponents, peer: PeerId): string | undefined {
  const direct = components.connectionManager.getConnections(peer).find((c) => !c.remoteAddr.toString().includes('/p2p-circuit'))
  return direct === undefined ? undefined : admissionNetworkOf(direct.remoteAddr.toString())
}

/**
 * Whether `peer` may reserve a slot now, given the reservations held: a renewal always;
 * a stranger while its network holds fewer than `reservationsPerSubnet` and a slot is
 * free; a known peer while a slot is free or a stranger's can be taken (the oldest).
 */
export function admitReservation (peer: PeerId, held: Reserved[], limits: RelayLimits, isKnown: (peer: string) => boolean, network: string | undefined, stats: RelayGateStats): boolean {
  const id = peer.toString()
  if (held.some((r) => r.peer === id)) return true
  const known = isKnown(id)
  if (!known) {
    if (network === undefined) return false
    const strangers = held.filter((r) => !isKnown(r.peer))
    if (strangers.filter((r) => r.network === network).length >= limits.reservationsPerSubnet) return false
    return held.length < limits.reservations
  }
  if (held.length < limits.reservations) return true
  const oldest = held.filter((r) => !isKnown(r.peer)).sort((a, b) => a.expiry - b.expiry)[0]
  if (oldest === undefined) return false
  oldest.evict()
  stats.reservationsEvicted++
  return true
}
