import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { ControlApiServer, TextBody, type ApiHandler } from '../adapters/control-api/control-api-server.ts'
import { DashboardPasswordRequiredError } from '../adapters/dashboard/dashboard-errors.ts'
import { DashboardServer } from '../adapters/dashboard/dashboard-server.ts'
import { DashboardSessions } from '../adapters/dashboard/dashboard-sessions.ts'
import { RecentEvents } from '../adapters/dashboard/recent-events.ts'
import { OWNER_READ_ONLY_ROUTES, ownerRoutes } from '../adapters/control-api/owner-routes.ts'
import { trustRoutes, type TrustRoutesInit } from '../adapters/control-api/trust-routes.ts'
import { ensureApiKeys, rotateApiKey, type ApiKeyKind, type ApiKeys } from '../adapters/data-dir/api-keys.ts'
import { FILES, writeAtomic } from '../adapters/data-dir/data-dir.ts'
import type { NodeMetrics } from '../adapters/metrics/node-metrics.ts'
import type { PeersResponse } from '../app/federation-status.ts'
import { nodeStatus, type NodeStatusSources } from '../app/node-status.ts'
import type { OwnerService } from '../app/owner/owner-service.ts'
import type { RepairService } from '../app/owner/repair-service.ts'
import type { WorkQueue } from '../app/owner/work-in-flight.ts'
import { InvalidInputError, NotFoundError, QuloudError } from '../errors.ts'
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
  /** The owner's work in flight (unfinished puts, deletes owed by holders), in status; absent without a journal. */
  work?: ((options?: AbortOptions) => Promise<WorkQueue>) | undefined
  /** The operator's trusted peers and every peer's allowance here. */
  trust: TrustRoutesInit
  metrics: NodeMetrics
  /** Begins the daemon's graceful stop (`POST /v1/stop`); called after the answer is sent. */
  requestStop: () => void
  loggers: LoggerFactory
  /** The web dashboard's settings (config keys `dashboard`, `dashboardPassword`); it is always at /ui of this API. */
  dashboard?: DashboardSettings
  /** The daemon's recent log lines, which the dashboard's log page shows (RecentEvents.tee); a fresh buffer by default. */
  events?: RecentEvents
}

export interface DashboardSettings {
  /** HOST:PORT of a listener for the dashboard alone (the LAN); not a loopback address needs `password`. */
  address?: string
  password?: string
  /** Bytes one browser upload may have (default 4 GiB). */
  maxUploadBytes?: number
  /** Milliseconds a `quloud dashboard` link works (default 5 min). */
  linkTtlMs?: number
}

/** What `POST /v1/dashboard/link` hands out: the one-time login link, and the LAN address when there is one. */
export interface DashboardLinks {
  issue (): { url: string, expiresAt: number, lan?: string }
}

/** The control API half: the server with every route, and the files the CLI finds it by. */
export interface ControlApi {
  url: string
  /** The dashboard's own listener (`dashboard` setting), when there is one. */
  dashboardUrl?: string
  stop (): Promise<void>
}

/** Routes the metrics key opens as well as the API key. */
export const SCRAPE_ROUTES = ['GET /metrics'] as const

/**
 * Every route of the control API, keyed `METHOD /path` (docs/api.md documents each; a
 * test fails when one is missing there). `keys` is the live pair: a rotation replaces
 * its member, and the next request is checked against the new key.
 */
export function controlApiRoutes (init: ControlApiInit, keys: ApiKeys, links?: DashboardLinks): Record<string, ApiHandler> {
  return {
    // a liveness probe (the container's health check): answers without touching the
    // stores or the network, so a busy node is not reported unhealthy
    'GET /v1/health': async () => ({ status: 'ok', peerId: init.peerId, uptimeSeconds: Math.round((Date.now() - init.status.startedAt.getTime()) / 1000) }),
    'GET /v1/status': async (_body, signal) => ({
      ...await nodeStatus(init.status, signal),
      repair: init.repair.queue(),
      ...(init.work === undefined ? {} : { work: await init.work({ signal }) })
    }),
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
    'POST /v1/dashboard/link': async () => {
      if (links === undefined) throw new NotFoundError('this daemon serves no dashboard')
      return links.issue()
    },
    'GET /metrics': async () => new TextBody(init.metrics.contentType, await init.metrics.text())
  }
}

/**
 * The dashboard's settings, refused when they would put it beyond loopback with no
 * password: the daemon checks them before it starts anything.
 */
export function checkDashboardSettings (settings: DashboardSettings): DashboardSettings {
  if (isBeyondLoopback(settings) && settings.password === undefined) {
    throw new DashboardPasswordRequiredError(`the dashboard on ${settings.address} would be reachable beyond this machine: set a password first (\`quloud config set dashboardPassword …\`, 12 characters or more), or keep it on loopback`)
  }
  return settings
}

function isBeyondLoopback (settings: DashboardSettings): boolean {
  return settings.address !== undefined && !LOOPBACK.test(settings.address)
}

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\]):\d{1,5}$/

/**
 * Starts the daemon's control API with the data directory's persistent keys (made if
 * this node has none yet), then writes `api.json` (address and pid) for the CLI.
 * `stop` removes `api.json` before it closes the server; the keys stay.
 */
export async function startControlApi (init: ControlApiInit): Promise<ControlApi> {
  const log = init.loggers('api')
  const shutdown = new Shutdown(log)
  try {
    const settings = checkDashboardSettings(init.dashboard ?? {})
    const lan = isBeyondLoopback(settings)
    const keys = await ensureApiKeys(init.dataDir)
    const apiKeys = { control: () => keys.control, metrics: () => keys.metrics }
    const events = init.events ?? new RecentEvents()
    const sessions = new DashboardSessions(settings.linkTtlMs === undefined ? {} : { linkTtlMs: settings.linkTtlMs })
    const spoolDir = join(init.dataDir, 'ui-spool')
    // what a crashed daemon left of uploads and downloads in passing: plaintext copies of the owner's files
    await rm(spoolDir, { recursive: true, force: true })
    let url = ''
    let dashboardUrl: string | undefined
    const links: DashboardLinks = {
      issue: () => {
        const link = sessions.issueLink()
        return { url: `${url}/ui/login?token=${link.token}`, expiresAt: link.expiresAt, ...(dashboardUrl === undefined ? {} : { lan: `${dashboardUrl}/ui/` }) }
      }
    }
    const routes = controlApiRoutes(init, keys, links)
    const dashboard = (loopbackOnly: boolean): DashboardServer => new DashboardServer({
      routes,
      sessions,
      apiKey: apiKeys.control,
      ...(settings.password === undefined ? {} : { password: settings.password }),
      loopbackOnly,
      cookieName: `quloud_ui_${init.peerId.slice(-10)}`,
      spoolDir,
      maxUploadBytes: settings.maxUploadBytes ?? 4 * 2 ** 30,
      events,
      log: init.loggers('dashboard')
    })
    const api = new ControlApiServer({
      address: init.address,
      log,
      keys: apiKeys,
      scrapeRoutes: SCRAPE_ROUTES,
      routes,
      dashboard: dashboard(true).handle,
      readOnlyRoutes: OWNER_READ_ONLY_ROUTES,
      onCall: (route, err) => events.push({
        at: Date.now(),
        level: err === undefined ? 'info' : 'warn',
        source: 'api',
        message: `${route}${err === undefined ? '' : ` failed: ${err instanceof QuloudError ? err.code : 'internal'}`}`
      })
    })
    url = await api.start()
    shutdown.push(async () => api.stop())
    if (settings.address !== undefined) {
      // the dashboard alone: this listener has no bearer routes, so the API stays on loopback
      const own = new ControlApiServer({ address: settings.address, log, keys: apiKeys, routes: {}, dashboard: dashboard(!lan).handle })
      dashboardUrl = await own.start()
      shutdown.push(async () => own.stop())
      log.info(`dashboard on ${dashboardUrl}/ui/${lan ? ' (beyond loopback: password login)' : ''}`)
    }
    const apiFile = join(init.dataDir, FILES.api)
    shutdown.push(async () => rm(apiFile, { force: true }))
    await writeAtomic(apiFile, JSON.stringify({ url, pid: process.pid, peerId: init.peerId }) + '\n', 0o644)
    return { url, ...(dashboardUrl === undefined ? {} : { dashboardUrl }), stop: async () => shutdown.run() }
  } catch (err) {
    await shutdown.run()
    throw err
  }
}
