import type { Libp2p } from '@libp2p/interface'
import { HandoffClient } from '../adapters/libp2p/protocols/handoff-client.ts'
import { HandoffHandler } from '../adapters/libp2p/protocols/handoff-handler.ts'
import { HANDOFF_ATTEMPTS_PER_MINUTE } from '../adapters/libp2p/protocols/handoff-messages.ts'
import { DEFAULT_PEER_LIMITS } from '../adapters/libp2p/protocols/federation-protocols.ts'
import { PeerLimits } from '../adapters/libp2p/protocols/peer-limits.ts'
import { HandoffService } from '../app/handoff/handoff-service.ts'
import { OfferBook } from '../app/handoff/offer-book.ts'
import type { AbortOptions } from '../ports/abort-options.ts'
import type { LoggerFactory } from '../ports/logger.ts'

export interface HandoffInit {
  host: Pick<Libp2p, 'handle' | 'unhandle' | 'peerId' | 'dialProtocol' | 'getPeers' | 'peerStore'>
  loggers: LoggerFactory
  /** Peer ids to ask for a nameplate. Default: connected peers, then the rest of the peer store. */
  candidates?: (options?: AbortOptions) => Promise<string[]>
  /** Exchanges one peer may start per minute here (default HANDOFF_ATTEMPTS_PER_MINUTE). */
  attemptsPerMinute?: number
  /** Wrong attempts an offer survives (default HANDOFF_ATTEMPTS). */
  attempts?: number
  idleTimeoutMs?: number
  deadlineMs?: number
  now?: () => number
  /** Draws nameplate candidates in [0, n) (the nameplate is 1 + the draw); tests fix it to make two offers collide. */
  nameplates?: (n: number) => number
  /** How each handoff stream ended (the daemon's request metrics; see PeerLimitsInit). */
  onServed?: (protocol: string, outcome: string) => void
}

export interface Handoff {
  service: HandoffService
  stop (): Promise<void>
}

/**
 * Short-code handoffs on a host: the offer book and the /quloud/handoff/1.0.0 handler
 * that serves it (the sharer's half), and the client the service asks peers with (the
 * receiver's half). Its own per-peer limits: a handoff stream is cheap to refuse, and
 * its attempt rate must not be spent by storage traffic nor spend it.
 */
export async function startHandoff (init: HandoffInit): Promise<Handoff> {
  const { host, loggers } = init
  const perMinute = init.attemptsPerMinute ?? HANDOFF_ATTEMPTS_PER_MINUTE
  const book = new OfferBook({ now: init.now, attempts: init.attempts, random: init.nameplates })
  const handler = new HandoffHandler({
    host,
    book,
    limits: new PeerLimits({ ...DEFAULT_PEER_LIMITS, maxStreamsPerPeer: 4, now: init.now, onServed: init.onServed }),
    attempts: new PeerLimits({ maxStreamsPerPeer: 1, requestsPerSecond: perMinute / 60, burst: perMinute, now: init.now }),
    log: loggers('protocol:handoff'),
    idleTimeoutMs: init.idleTimeoutMs,
    deadlineMs: init.deadlineMs
  })
  const service = new HandoffService({
    book,
    exchange: new HandoffClient({ host, idleTimeoutMs: init.idleTimeoutMs, deadlineMs: init.deadlineMs }),
    candidates: init.candidates ?? (async () => knownPeers(host)),
    log: loggers('handoff'),
    now: init.now
  })
  await handler.start()
  return { service, stop: async () => handler.stop() }
}

async function knownPeers (host: HandoffInit['host']): Promise<string[]> {
  const self = host.peerId.toString()
  const ids = [...host.getPeers(), ...(await host.peerStore.all()).map((p) => p.id)].map((id) => id.toString())
  return [...new Set(ids)].filter((id) => id !== self)
}
