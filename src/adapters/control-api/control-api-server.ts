import { timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { AddressInUseError, InvalidInputError, NotFoundError, QuloudError, TooLargeError, UnauthorizedError, UnknownRouteError, type QuloudErrorClass } from '../../errors.ts'
import { VERSION } from '../../version.ts'
import { RemoteInternalError } from '../../domain/protocol/federation-errors.ts'
import type { Logger } from '../../ports/logger.ts'

/**
 * A control API operation: JSON in, JSON out; errors become `{ error: { code, message } }`.
 * A handler that calls `progress` turns the response into NDJSON: one line per
 * progress event (`{"progress": …}`), then one `{"result": …}` or `{"error": …}` line,
 * so long operations (put, get) can show progress and still end in a typed result.
 */
export type ApiHandler = (body: unknown, signal: AbortSignal, progress: (event: unknown) => void) => Promise<unknown>

/** A handler's result sent as it is rather than as JSON (the Prometheus text of `GET /metrics`). */
export class TextBody {
  readonly contentType: string
  readonly text: string
  constructor (contentType: string, text: string) {
    this.contentType = contentType
    this.text = text
  }
}

/** The keys requests are checked against; read at each request, so a rotation takes effect at once. */
export interface ControlApiKeys {
  /** Opens every route. */
  control (): string
  /** Opens the routes of `scrapeRoutes` alone. */
  metrics (): string
}

export interface ControlApiServerInit {
  /** Loopback host:port; port 0 picks a free one. */
  address: string
  /** Routes keyed `METHOD /path`, e.g. `GET /v1/status`. */
  routes: Record<string, ApiHandler>
  /** Routes the metrics key opens too (`GET /metrics`). */
  scrapeRoutes?: readonly string[]
  keys: ControlApiKeys
  log: Logger
  /**
   * Serves every request whose path is `/ui` or below it, before and instead of the
   * bearer check: the web dashboard authenticates by its own session cookie.
   */
  dashboard?: RawHandler
  /** Told of every state-changing route called with the right key, once it has answered (the dashboard's activity page). */
  onCall?: (route: string, error: unknown) => void
  /** POST routes that only read (they take a body, as GET cannot from a browser): not told to `onCall`. */
  readOnlyRoutes?: readonly string[]
}

/** A request handled on its own terms (cookies, streamed bodies, HTML) rather than as JSON in, JSON out. */
export type RawHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>

const MAX_BODY_BYTES = 1024 * 1024

const STATUS_OF_CLASS: ReadonlyArray<[QuloudErrorClass, number]> = [
  [InvalidInputError, 400], [UnauthorizedError, 401], [NotFoundError, 404], [TooLargeError, 413]
]

/**
 * The daemon's local control API: HTTP/1.1 + JSON on a loopback address, every
 * request authenticated by a bearer key (compared in constant time). docs/api.md
 * documents every route.
 */
export class ControlApiServer {
  private readonly init: ControlApiServerInit
  private server: Server | undefined

  constructor (init: ControlApiServerInit) {
    this.init = init
  }

  /** Listens and resolves to the bound `http://host:port` URL. */
  async start (): Promise<string> {
    const separator = this.init.address.lastIndexOf(':')
    const host = this.init.address.slice(0, separator).replace(/^\[|\]$/g, '')
    const port = Number(this.init.address.slice(separator + 1))
    const server = createServer((req, res) => { void this.handle(req, res) })
    server.requestTimeout = 0 // long operations stream; clients bound their own waits
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        reject(err.code === 'EADDRINUSE'
          ? new AddressInUseError(`the control API address ${this.init.address} is in use (another quloud daemon? choose another with --api or \`quloud config set api 127.0.0.1:PORT\`)`, { cause: err })
          : err)
      })
      server.listen(port, host, () => { server.removeAllListeners('error'); resolve() })
    })
    this.server = server
    const bound = server.address() as AddressInfo
    const shown = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address
    return `http://${shown}:${bound.port}`
  }

  async stop (): Promise<void> {
    const server = this.server
    if (server === undefined) return
    this.server = undefined
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  private async handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const controller = new AbortController()
    res.on('close', () => controller.abort())
    try {
      const path = new URL(req.url ?? '/', 'http://x').pathname
      if (this.init.dashboard !== undefined && (path === '/ui' || path.startsWith('/ui/'))) return await this.init.dashboard(req, res)
      const route = `${req.method} ${path}`
      const scrape = this.init.scrapeRoutes?.includes(route) === true
      if (!this.authorized(req.headers.authorization, this.init.keys.control()) && !(scrape && this.authorized(req.headers.authorization, this.init.keys.metrics()))) {
        this.init.log.warn(`control API: rejected a request with a wrong key (${req.method} ${req.url})`)
        res.setHeader('www-authenticate', 'Bearer realm="quloud"')
        return send(res, 401, { error: { code: UnauthorizedError.code, message: 'wrong or missing API key' } })
      }
      const handler = this.init.routes[route]
      // a CLI newer than the daemon asks for routes it lacks: the code says so, apart from an item not found
      if (handler === undefined) return send(res, 404, { error: { code: UnknownRouteError.code, message: `no such API route: ${req.method} ${path} (this daemon is quloud ${VERSION})` } })
      const body = await readJson(req)
      const progress = (event: unknown): void => {
        if (!res.headersSent) res.writeHead(200, { 'content-type': 'application/x-ndjson' })
        res.write(JSON.stringify({ progress: event }) + '\n')
      }
      const changes = req.method !== 'GET' && this.init.readOnlyRoutes?.includes(route) !== true
      const result = await handler(body, controller.signal, progress).then((value) => {
        if (changes) this.init.onCall?.(route, undefined)
        return value
      }, (err: unknown) => {
        if (changes) this.init.onCall?.(route, err)
        throw err
      })
      if (result instanceof TextBody && !res.headersSent) {
        res.writeHead(200, { 'content-type': result.contentType, 'content-length': Buffer.byteLength(result.text) })
        res.end(result.text)
        return
      }
      if (res.headersSent) res.end(JSON.stringify({ result: result ?? null }) + '\n')
      else send(res, 200, result)
    } catch (err) {
      sendError(res, err, this.init.log)
    }
  }

  private authorized (header: string | undefined, key: string): boolean {
    const expected = Buffer.from(`Bearer ${key}`)
    const given = Buffer.from(header ?? '')
    return given.length === expected.length && timingSafeEqual(given, expected)
  }
}

/**
 * An error as the API answers it: `{error: {code, message}}` with the status of its
 * class (docs/api.md, "Errors"); after a streamed start, as the last NDJSON line.
 */
export function sendError (res: ServerResponse, err: unknown, log: Logger, statusOf: (err: unknown) => number | undefined = () => undefined): void {
  const internal = !(err instanceof QuloudError) || err instanceof RemoteInternalError
  if (internal) log.error('control API: request failed', err)
  const error = { code: err instanceof QuloudError ? err.code : RemoteInternalError.code, message: (err as Error).message }
  if (res.headersSent) res.end(JSON.stringify({ error }) + '\n')
  else send(res, statusOf(err) ?? STATUS_OF_CLASS.find(([Class]) => err instanceof Class)?.[1] ?? (internal ? 500 : 409), { error })
}

/** The request's JSON body (at most 1 MiB); undefined when empty. */
export async function readJson (req: IncomingMessage): Promise<unknown> {
  const parts: Buffer[] = []
  let size = 0
  for await (const part of req) {
    size += (part as Buffer).length
    if (size > MAX_BODY_BYTES) throw new TooLargeError('request body too large')
    parts.push(part as Buffer)
  }
  if (size === 0) return undefined
  try {
    return JSON.parse(Buffer.concat(parts).toString('utf8'))
  } catch (err) {
    throw new InvalidInputError('request body is not JSON', { cause: err })
  }
}

export function send (res: ServerResponse, status: number, value: unknown): void {
  if (res.headersSent) return
  const body = JSON.stringify(value ?? null)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
  res.end(body)
}
