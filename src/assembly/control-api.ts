import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { ControlApiServer } from '../adapters/control-api/control-api-server.ts'
import { ownerRoutes } from '../adapters/control-api/owner-routes.ts'
import { trustRoutes, type TrustRoutesInit } from '../adapters/control-api/trust-routes.ts'
import { FILES, writeAtomic } from '../adapters/data-dir/data-dir.ts'
import type { PeersResponse } from '../app/federation-status.ts'
import { nodeStatus, type NodeStatusSources } from '../app/node-status.ts'
import type { OwnerService } from '../app/owner/owner-service.ts'
import type { AbortOptions } from '../ports/abort-options.ts'
import type { LoggerFactory } from '../ports/logger.ts'
import { Shutdown } from './shutdown.ts'

export interface ControlApiInit {
  /** Loopback host:port; port 0 picks a free one. */
  address: string
  /** Where `api.json` and `api.token` tell the CLI how to reach this daemon. */
  dataDir: string
  peerId: string
  status: NodeStatusSources
  peers: (options?: AbortOptions) => Promise<PeersResponse>
  owner: OwnerService
  /** The operator's trusted peers and every peer's allowance here. */
  trust: TrustRoutesInit
  loggers: LoggerFactory
}

/** The control API half: the server with every route, and the files the CLI finds it by. */
export interface ControlApi {
  url: string
  stop (): Promise<void>
}

/**
 * Starts the daemon's control API and then writes its token and address into the data
 * directory (the token first, so a CLI that finds the address can authenticate).
 * `stop` removes both files before it closes the server.
 */
export async function startControlApi (init: ControlApiInit): Promise<ControlApi> {
  const log = init.loggers('api')
  const shutdown = new Shutdown(log)
  try {
    const api = new ControlApiServer({
      address: init.address,
      log,
      routes: {
        'GET /v1/status': async (_body, signal) => nodeStatus(init.status, signal),
        'GET /v1/peers': async (_body, signal) => init.peers({ signal }),
        ...ownerRoutes(init.owner),
        ...trustRoutes(init.trust)
      }
    })
    const url = await api.start()
    shutdown.push(async () => api.stop())
    const tokenFile = join(init.dataDir, FILES.apiToken)
    const apiFile = join(init.dataDir, FILES.api)
    shutdown.push(async () => Promise.all([rm(apiFile, { force: true }), rm(tokenFile, { force: true })]))
    await writeAtomic(tokenFile, api.token + '\n', 0o600)
    await writeAtomic(apiFile, JSON.stringify({ url, pid: process.pid, peerId: init.peerId }) + '\n', 0o644)
    return { url, stop: async () => shutdown.run() }
  } catch (err) {
    await shutdown.run()
    throw err
  }
}
