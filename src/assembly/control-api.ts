import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { ControlApiServer, TextBody, type ApiHandler } from '../adapters/control-api/control-api-server.ts'
import { ownerRoutes } from '../adapters/control-api/owner-routes.ts'
import { trustRoutes, type TrustRoutesInit } from '../adapters/control-api/trust-routes.ts'
import { ensureApiKeys, rotateApiKey, type ApiKeyKind, type ApiKeys } from '../adapters/data-dir/api-keys.ts'
import { FILES, writeAtomic } from '../adapters/data-dir/data-dir.ts'
import type { NodeMetrics } from '../adapters/metrics/node-metrics.ts'
import type { PeersResponse } from '../app/federation-status.ts'
import { nodeStatus, type NodeStatusSources } from '../app/node-status.ts'
import type { OwnerService } from '../app/owner/owner-service.ts'
import type { RepairService } from '../app/owner/repair-service.ts'
import { InvalidInputError } from '../errors.ts'
import type { AbortOptions } from '../ports/abort-options.ts'
import type { LoggerFactory } from '../ports/logger.ts'
import { Shutdown } from './shutdown.ts'

export interface ControlApiInit {
  /** Loopback host:port; port 0 picks a free one. */
  address: string
  /** Where the API keys are kept and `api.json` tells the CLI how to reach this daemon. */
  dataDir: string
  peerId: string
  status: NodeStatusSources
  peers: (options?: AbortOptions) => Promise<PeersResponse>
  owner: OwnerService
  /** Audits and repair: `POST /v1/check`, health in `GET /v1/files`, the queue in status. */
  repair: RepairService
  /** The operator's trusted peers and every peer's allowance here. */
  trust: TrustRoutesInit
  metrics: NodeMetrics
  /** Begins the daemon's graceful stop (`POST /v1/stop`); called after the answer is sent. */
  requestStop: () => void
  loggers: LoggerFactory
}

/** The control API half: the server with every route, and the files the CLI finds it by. */
export interface ControlApi {
  url: string
  stop (): Promise<void>
}

/** Routes the metrics key opens as well as the API key. */
export const SCRAPE_ROUTES = ['GET /metrics'] as const

/**
 * Every route of the control API, keyed `METHOD /path` (docs/api.md documents each; a
 * test fails when one is missing there). `keys` is the live pair: a rotation replaces
 * its member, and the next request is checked against the new key.
 */
export function controlApiRoutes (init: ControlApiInit, keys: ApiKeys): Record<string, ApiHandler> {
  return {
    'GET /v1/status': async (_body, signal) => ({ ...await nodeStatus(init.status, signal), repair: init.repair.queue() }),
    'GET /v1/peers': async (_body, signal) => init.peers({ signal }),
    ...ownerRoutes(init.owner, init.repair),
    ...trustRoutes(init.trust),
    'POST /v1/stop': async () => {
      // after this answer has left: the server closes its connections as it stops
      setTimeout(init.requestStop, 10)
      return { stopping: true, pid: process.pid }
    },
    'POST /v1/api-key/rotate': async (body) => {
      const kind = (body as { kind?: unknown } | undefined)?.kind ?? 'control'
      if (kind !== 'control' && kind !== 'metrics') throw new InvalidInputError('"kind" must be "control" or "metrics"')
      keys[kind as ApiKeyKind] = await rotateApiKey(init.dataDir, kind as ApiKeyKind)
      return { kind, file: join(init.dataDir, kind === 'control' ? FILES.apiToken : FILES.metricsToken) }
    },
    'GET /metrics': async () => new TextBody(init.metrics.contentType, await init.metrics.text())
  }
}

/**
 * Starts the daemon's control API with the data directory's persistent keys (made if
 * this node has none yet), then writes `api.json` (address and pid) for the CLI.
 * `stop` removes `api.json` before it closes the server; the keys stay.
 */
export async function startControlApi (init: ControlApiInit): Promise<ControlApi> {
  const log = init.loggers('api')
  const shutdown = new Shutdown(log)
  try {
    const keys = await ensureApiKeys(init.dataDir)
    const api = new ControlApiServer({
      address: init.address,
      log,
      keys: { control: () => keys.control, metrics: () => keys.metrics },
      scrapeRoutes: SCRAPE_ROUTES,
      routes: controlApiRoutes(init, keys)
    })
    const url = await api.start()
    shutdown.push(async () => api.stop())
    const apiFile = join(init.dataDir, FILES.api)
    shutdown.push(async () => rm(apiFile, { force: true }))
    await writeAtomic(apiFile, JSON.stringify({ url, pid: process.pid, peerId: init.peerId }) + '\n', 0o644)
    return { url, stop: async () => shutdown.run() }
  } catch (err) {
    await shutdown.run()
    throw err
  }
}
