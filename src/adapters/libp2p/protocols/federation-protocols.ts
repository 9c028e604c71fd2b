import type { Connection, Libp2p, PrivateKey } from '@libp2p/interface'
import type { StorageService } from '../../../app/storage-service.ts'
import type { LoggerFactory } from '../../../ports/logger.ts'
import type { Verifier } from '../../../ports/verifier.ts'
import { MAX_REQUESTS_PER_SECOND, MAX_STREAMS_PER_PEER, RATE_WINDOW_S } from '../wire/constants.ts'
import { PeerLimits, type PeerLimitsInit } from './peer-limits.ts'
import { ProofSessions } from './proof-sessions.ts'
import type { ProtocolHost } from './serve-stream.ts'
import { SessionHandler } from './session-handler.ts'
import { StoreHandler } from './store-handler.ts'

export interface FederationProtocolsInit {
  host: ProtocolHost & Pick<Libp2p, 'addEventListener' | 'removeEventListener'>
  privateKey: PrivateKey
  storage: StorageService
  verifier: Verifier
  loggers: LoggerFactory
  limits?: Partial<PeerLimitsInit>
  challengeTtlMs?: number
  sessionTtlMs?: number
  idleTimeoutMs?: number
}

export interface FederationProtocols {
  stop (): Promise<void>
}

/**
 * Starts the storage side of the federation: store, retrieve and delete handlers
 * sharing one set of per-peer limits and proof sessions.
 */
export async function startFederationProtocols (init: FederationProtocolsInit): Promise<FederationProtocols> {
  const limits = new PeerLimits({
    maxStreamsPerPeer: MAX_STREAMS_PER_PEER,
    requestsPerSecond: MAX_REQUESTS_PER_SECOND,
    burst: MAX_REQUESTS_PER_SECOND * RATE_WINDOW_S,
    ...init.limits
  })
  const sessions = new ProofSessions()
  const onClose = (event: CustomEvent<Connection>): void => { sessions.closeConnection(event.detail.id) }
  init.host.addEventListener('connection:close', onClose)
  const common = { host: init.host, privateKey: init.privateKey, storage: init.storage, limits, idleTimeoutMs: init.idleTimeoutMs }
  const handlers = [
    new StoreHandler({ ...common, log: init.loggers('protocol:store') }),
    ...(['read', 'delete'] as const).map((action) => new SessionHandler({
      ...common,
      action,
      verifier: init.verifier,
      sessions,
      log: init.loggers(action === 'read' ? 'protocol:retrieve' : 'protocol:delete'),
      challengeTtlMs: init.challengeTtlMs,
      sessionTtlMs: init.sessionTtlMs
    }))
  ]
  for (const handler of handlers) await handler.start()
  return {
    async stop () {
      init.host.removeEventListener('connection:close', onClose)
      for (const handler of handlers) await handler.stop()
    }
  }
}
