import type { IncomingMessage, ServerResponse } from 'node:http'
import type { TLSSocket } from 'node:tls'
import { InvalidInputError, NotFoundError, UnauthorizedError } from '../../errors.ts'
import type { Logger } from '../../ports/logger.ts'
import { readJson, send, sendError, type ApiHandler } from '../control-api/control-api-server.ts'
import { ForbiddenError } from './dashboard-errors.ts'
import { sendAsset, sendIndex } from './dashboard-page.ts'
import { sameSecret, type DashboardSession, type DashboardSessions } from './dashboard-sessions.ts'
import { download, upload, type DashboardTransfersInit } from './dashboard-transfers.ts'
import type { RecentEvents } from './recent-events.ts'
import { shareCodeSvg } from './share-code-svg.ts'

/**
 * The control API routes the dashboard's page may call, as `/ui/api` + the route's path.
 * Left out on purpose: routes that take the daemon's own file paths (put, get, receive:
 * a LAN visitor must not read or write the NAS's disk through them), `stop` and key
 * rotation (the operator's, from the CLI).
 */
export const DASHBOARD_API_ROUTES = [
  'GET /v1/status', 'GET /v1/peers', 'GET /v1/allowances', 'GET /v1/trust', 'GET /v1/files', 'GET /v1/shares',
  'POST /v1/list', 'POST /v1/versions', 'POST /v1/share', 'POST /v1/unshare'
] as const

/** The routes of DASHBOARD_API_ROUTES that change something, and so show on the activity page. */
const CHANGES = new Set(['POST /v1/share', 'POST /v1/unshare'])

export interface DashboardServerInit extends DashboardTransfersInit {
  routes: Record<string, ApiHandler>
  sessions: DashboardSessions
  /** The control API key: a login with it opens a session (read at each login, so a rotation counts). */
  apiKey: () => string
  /** `dashboardPassword`: a login with it opens a session too. */
  password?: string
  /** Only loopback names are accepted in `Host`: a rebound DNS name of an attacker's site is refused. */
  loopbackOnly: boolean
  /** The session cookie's name; one per daemon, since browsers share cookies across the ports of a host. */
  cookieName: string
  events: RecentEvents
  log: Logger
}

/**
 * The web dashboard under `/ui`: its page, a login (API key, password or a one-time
 * link from `quloud dashboard`), and its API. Every `/ui/api` request needs the session
 * cookie; every POST also needs an Origin equal to this server's and the session's CSRF
 * token in `x-csrf-token`. The cookie is HttpOnly and SameSite=Strict, so another site can
 * neither read it nor make the browser send it.
 */
export class DashboardServer {
  private readonly init: DashboardServerInit

  constructor (init: DashboardServerInit) {
    this.init = init
  }

  readonly handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    setSecurityHeaders(res)
    try {
      this.checkHost(req)
      const url = new URL(req.url ?? '/', 'http://x')
      const route = `${req.method} ${url.pathname}`
      if (route === 'GET /ui' || route === 'GET /ui/') return url.pathname === '/ui' ? redirect(res, '/ui/') : sendIndex(res)
      if (req.method === 'GET' && url.pathname.startsWith('/ui/assets/')) return await sendAsset(res, url.pathname.slice('/ui/assets/'.length))
      if (route === 'GET /ui/login') return this.loginByLink(req, res, url.searchParams.get('token') ?? '')
      if (req.method === 'POST') this.checkOrigin(req)
      if (route === 'POST /ui/login') return await this.loginBySecret(req, res)
      const session = this.init.sessions.find(cookieOf(req, this.init.cookieName))
      if (session === undefined) throw new UnauthorizedError('log in first')
      if (req.method === 'POST') checkCsrf(req, session)
      return await this.serve(req, res, url, route, session)
    } catch (err) {
      sendError(res, err, this.init.log, (e) => e instanceof ForbiddenError ? 403 : undefined)
    }
  }

  private async serve (req: IncomingMessage, res: ServerResponse, url: URL, route: string, session: DashboardSession): Promise<void> {
    const signal = abortOnClose(res)
    switch (route) {
      case 'GET /ui/api/session': return send(res, 200, { csrf: session.csrf })
      case 'POST /ui/logout':
        this.init.sessions.close(cookieOf(req, this.init.cookieName))
        res.setHeader('set-cookie', `${this.init.cookieName}=; HttpOnly; SameSite=Strict; Path=/ui; Max-Age=0`)
        return send(res, 200, { loggedOut: true })
      case 'GET /ui/api/events': return send(res, 200, { events: this.init.events.list() })
      case 'POST /ui/api/upload': {
        const outcome = await upload(this.init, req, url.searchParams.get('name') ?? '', signal)
        this.activity(`uploaded ${url.searchParams.get('name')}`)
        return send(res, 200, outcome)
      }
      case 'GET /ui/api/download': return await download(this.init, res, url.searchParams, signal)
      case 'POST /ui/api/qr': {
        const code = (await readJson(req) as { code?: unknown } | undefined)?.code
        if (typeof code !== 'string') throw new InvalidInputError('"code" must be a share code')
        return send(res, 200, await shareCodeSvg(code))
      }
    }
    const apiRoute = `${req.method} ${url.pathname.slice('/ui/api'.length)}`
    const handler = url.pathname.startsWith('/ui/api/') && (DASHBOARD_API_ROUTES as readonly string[]).includes(apiRoute) ? this.init.routes[apiRoute] : undefined
    if (handler === undefined) throw new NotFoundError(`no such dashboard route: ${route}`)
    const result = await handler(await readJson(req), signal, () => {})
    if (CHANGES.has(apiRoute)) this.activity(`${apiRoute.slice('POST /v1/'.length)} ${JSON.stringify((result as { name?: string } | null)?.name ?? '')}`)
    send(res, 200, result)
  }

  /** The one-time link: the token is spent, a session opened, and the browser sent to `/ui/` so the token leaves the address bar and history. */
  private loginByLink (req: IncomingMessage, res: ServerResponse, token: string): void {
    if (token === '' || !this.init.sessions.redeemLink(token)) {
      this.init.log.warn('dashboard: refused a used, expired or unknown login link')
      res.writeHead(401, { 'content-type': 'text/html; charset=utf-8' })
      res.end('<!doctype html><title>Quloud</title><p>This login link was used already or has expired. Run <code>quloud dashboard</code> for a new one.</p>')
      return
    }
    this.openSession(req, res)
    this.activity('logged in with a one-time link')
    redirect(res, '/ui/')
  }

  private async loginBySecret (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const secret = (await readJson(req) as { secret?: unknown } | undefined)?.secret
    if (typeof secret !== 'string' || secret === '') throw new InvalidInputError('"secret" must be the API key or the dashboard password')
    const sessions = this.init.sessions
    if (!sessions.mayTry()) throw new UnauthorizedError('too many failed logins; wait a minute')
    const password = this.init.password
    const ok = sameSecret(secret, this.init.apiKey()) || (password !== undefined && sameSecret(secret, password))
    if (!ok) {
      sessions.recordFailure()
      this.init.log.warn('dashboard: refused a login with a wrong key or password')
      throw new UnauthorizedError('wrong API key or password')
    }
    const session = this.openSession(req, res)
    this.activity('logged in')
    send(res, 200, { csrf: session.csrf })
  }

  private openSession (req: IncomingMessage, res: ServerResponse): DashboardSession {
    const session = this.init.sessions.open()
    const secure = (req.socket as TLSSocket).encrypted === true ? '; Secure' : ''
    res.setHeader('set-cookie', `${this.init.cookieName}=${session.id}; HttpOnly; SameSite=Strict; Path=/ui${secure}`)
    return session
  }

  private checkHost (req: IncomingMessage): void {
    if (!this.init.loopbackOnly) return
    const host = req.headers.host ?? ''
    if (!/^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\])(:\d{1,5})?$/.test(host)) throw new ForbiddenError(`the dashboard answers loopback names only, not Host ${JSON.stringify(host)}`)
  }

  /** Browsers send Origin with every POST; one that is not this server's is another site's page. */
  private checkOrigin (req: IncomingMessage): void {
    const scheme = (req.socket as TLSSocket).encrypted === true ? 'https' : 'http'
    if (req.headers.origin !== `${scheme}://${req.headers.host ?? ''}`) throw new ForbiddenError('cross-origin request refused')
  }

  private activity (message: string): void {
    this.init.events.push({ at: Date.now(), level: 'info', source: 'dashboard', message })
  }
}

function checkCsrf (req: IncomingMessage, session: DashboardSession): void {
  const token = req.headers['x-csrf-token']
  if (typeof token !== 'string' || !sameSecret(token, session.csrf)) throw new ForbiddenError('missing or wrong CSRF token')
}

function cookieOf (req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}

function abortOnClose (res: ServerResponse): AbortSignal {
  const controller = new AbortController()
  res.on('close', () => { if (!res.writableFinished) controller.abort() })
  return controller.signal
}

function redirect (res: ServerResponse, location: string): void {
  res.writeHead(303, { location, 'content-length': 0 })
  res.end()
}

/** The page runs only its own scripts, in no frame, and sends no Referer (a share link never leaks through one). */
function setSecurityHeaders (res: ServerResponse): void {
  res.setHeader('x-content-type-options', 'nosniff')
  res.setHeader('x-frame-options', 'DENY')
  res.setHeader('referrer-policy', 'no-referrer')
  res.setHeader('cache-control', 'no-store')
}
