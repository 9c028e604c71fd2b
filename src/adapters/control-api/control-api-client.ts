import { readFile } from 'node:fs/promises'
import type { IncomingMessage } from 'node:http'
import { join } from 'node:path'
import { DaemonNotRunningError, QuloudError, UnauthorizedError, UnknownRouteError } from '../../errors.ts'
import { VERSION } from '../../version.ts'
import { readApiKey } from '../data-dir/api-keys.ts'
import { assertNodeDir, FILES } from '../data-dir/data-dir-layout.ts'

export interface ApiEndpoint {
  url: string
  token: string
}

/**
 * Where the daemon of `dataDir` listens, from `api.json` it wrote at start, and the API
 * key. A data directory without a node is DataDirError (exit 3), not "no daemon".
 */
export async function findDaemon (dataDir: string): Promise<ApiEndpoint & { pid?: number }> {
  await assertNodeDir(dataDir)
  let info: { url?: unknown, pid?: unknown }
  try {
    info = JSON.parse(await readFile(join(dataDir, FILES.api), 'utf8'))
    if (typeof info.url !== 'string') throw new Error('api.json has no url')
  } catch (err) {
    throw new DaemonNotRunningError(`no Quloud daemon is running for ${dataDir} (start one with \`quloud start --data-dir ${dataDir}\`)`, { cause: err })
  }
  // a daemon killed without its shutdown leaves api.json: its port may belong to another
  // program by now, which must not be sent the key
  if (typeof info.pid === 'number' && !processAlive(info.pid)) {
    throw new DaemonNotRunningError(`no Quloud daemon is running for ${dataDir} (the one that wrote api.json, pid ${info.pid}, is gone; start one with \`quloud start --data-dir ${dataDir}\`)`)
  }
  const token = await readApiKey(dataDir, 'control')
  if (token === undefined) throw new UnauthorizedError(`${join(dataDir, FILES.apiToken)} is missing; restart the daemon or run \`quloud api-key rotate\``)
  return { url: info.url, token, ...(typeof info.pid === 'number' ? { pid: info.pid } : {}) }
}

/** Whether a process exists; EPERM means it does, under another user. */
export function processAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err: any) {
    return err?.code === 'EPERM'
  }
}

/** A remote error: the daemon's code and message, kept as a QuloudError. */
export class RemoteError extends QuloudError {
  constructor (code: string, message: string) {
    super(message, code)
    this.name = 'RemoteError'
  }
}

export interface CallOptions {
  /** Gives up after this long (default 10 s; long operations pass their own). */
  timeoutMs?: number
  /** Receives the progress events of a streaming (NDJSON) response. */
  onProgress?: (event: any) => void
}

/**
 * Calls one control API route and returns its JSON result, or throws a typed error.
 * node:http, not fetch: fetch loads undici and compiles its WebAssembly HTTP parser on
 * first use, ~30 ms of every CLI command's ~100 (bench/cli-latency.bench.ts). Taken
 * with getBuiltinModule: an ESM import of node:http reads every export of its facade,
 * and one of them loads undici all the same.
 */
export async function callApi<T> (endpoint: ApiEndpoint, method: 'GET' | 'POST', path: string, body?: unknown, options: CallOptions = {}): Promise<T> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body))
  const signal = AbortSignal.timeout(options.timeoutMs ?? 10_000)
  let res: IncomingMessage
  try {
    res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = process.getBuiltinModule('node:http').request(endpoint.url + path, {
        method,
        signal,
        headers: {
          authorization: `Bearer ${endpoint.token}`,
          'content-type': 'application/json',
          ...(payload === undefined ? {} : { 'content-length': payload.byteLength })
        }
      }, resolve)
      req.on('error', reject)
      req.end(payload)
    })
  } catch (err) {
    throw new DaemonNotRunningError(`the Quloud daemon at ${endpoint.url} does not answer; is it running?`, { cause: err })
  }
  if (res.headers['content-type']?.startsWith('application/x-ndjson') === true) return readNdjson<T>(res, options)
  let text: string
  try {
    text = await readBody(res)
  } catch (err) {
    throw new DaemonNotRunningError(`the Quloud daemon at ${endpoint.url} stopped answering mid-reply`, { cause: err })
  }
  const parsed = parseJson(text)
  if (res.statusCode === 401) throw new UnauthorizedError('the daemon rejected the API key (rotated while this command ran, or another daemon holds the API port?)')
  if (res.statusCode === undefined || res.statusCode < 200 || res.statusCode > 299) {
    const code = String(parsed.value?.error?.code ?? 'internal')
    const message = String(parsed.value?.error?.message ?? `HTTP ${res.statusCode}`)
    // after an upgrade, until the daemon is restarted: say that, not "not found"
    if (code === UnknownRouteError.code) throw new RemoteError(code, `${message}; this command is quloud ${VERSION}: restart the daemon (quloud stop, then quloud start) so both run the same code`)
    throw new RemoteError(code, message)
  }
  // a success that is not JSON is not our daemon's (another program on the port, or a reply cut short): never an undefined result
  if (!parsed.ok) throw new DaemonNotRunningError(`what answers at ${endpoint.url} replied with something that is not JSON; is a Quloud daemon running there?`)
  return parsed.value as T
}

function parseJson (text: string): { ok: true, value: any } | { ok: false, value?: undefined } {
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch {
    return { ok: false }
  }
}

async function readBody (res: IncomingMessage): Promise<string> {
  res.setEncoding('utf8')
  let text = ''
  for await (const part of res) text += part as string
  return text
}

async function readNdjson<T> (res: IncomingMessage, options: CallOptions): Promise<T> {
  let buffered = ''
  res.setEncoding('utf8')
  try {
    for await (const part of res) {
      buffered += part as string
      let newline: number
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = JSON.parse(buffered.slice(0, newline))
        buffered = buffered.slice(newline + 1)
        if ('progress' in line) options.onProgress?.(line.progress)
        else if ('result' in line) return line.result as T
        else if ('error' in line) throw new RemoteError(String(line.error?.code ?? 'internal'), String(line.error?.message ?? 'failed'))
      }
    }
  } catch (err) {
    if (err instanceof QuloudError) throw err
    throw new DaemonNotRunningError('the Quloud daemon stopped answering in the middle of the operation', { cause: err })
  } finally {
    res.destroy()
  }
  throw new DaemonNotRunningError('the Quloud daemon ended the operation without a result')
}
