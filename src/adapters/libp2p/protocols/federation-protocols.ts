import type { Connection, Libp2p } from '@libp2p/interface'
import { MAX_REQUESTS_PER_SECOND, MAX_STREAMS_PER_PEER, RATE_WINDOW_S } from '../wire/constants.ts'
import type { PeerLimitsInit } from './peer-limits.ts'
import type { ProofSessions } from './proof-sessions.ts'

// What the storage side's protocol handlers share, as libp2p sees it; the handlers
// themselves are built and started in src/assembly/storage-side.ts.

/** The per-peer limits every Quloud protocol handler of a node shares, from the wire constants. */
export const DEFAULT_PEER_LIMITS: PeerLimitsInit = {
  maxStreamsPerPeer: MAX_STREAMS_PER_PEER,
  requestsPerSecond: MAX_REQUESTS_PER_SECOND,
  burst: MAX_REQUESTS_PER_SECOND * RATE_WINDOW_S
}

/**
 * Ends the proven sessions of a connection when it closes: a session is bound to the
 * connection its proof named, so nothing may use it after. Returns the unsubscribe.
 */
export function endSessionsWithConnections (host: Pick<Libp2p, 'addEventListener' | 'removeEventListener'>, sessions: ProofSessions): () => void {
  const onClose = (event: CustomEvent<Connection>): void => { sessions.closeConnection(event.detail.id) }
  host.addEventListener('connection:close', onClose)
  return () => host.removeEventListener('connection:close', onClose)
}
