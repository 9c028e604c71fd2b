import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DaemonNotRunningError, QuloudError, UnauthorizedError } from '../../errors.ts'
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

/** Calls one control API route and returns its JSON result, or throws a typed error. */
export async function callApi<T> (endpoint: ApiEndpoint, method: 'GET' | 'POST', path: string, body?: unknown, options: CallOptions = {}): Promise<T> {
  let res: Response
  try {
    res = await fetch(endpoint.url + path, {
      method,
      headers: { authorization: `Bearer ${endpoint.token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000)
    })
  } catch (err) {
    throw new DaemonNotRunningError(`the Quloud daemon at ${endpoint.url} does not answer; is it running?`, { cause: err })
  }
  if (res.headers.get('content-type')?.startsWith('application/x-ndjson') === true) return readNdjson<T>(res, options)
  const payload = await res.json().catch(() => undefined) as any
  if (res.status === 401) throw new UnauthorizedError('the daemon rejected the API key (rotated while this command ran, or another daemon holds the API port?)')
  if (!res.ok) {
    throw new RemoteError(String(payload?.error?.code ?? 'internal'), String(payload?.error?.message ?? `HTTP ${res.status}`))
  }
  return payload as T
}

async function readNdjson<T> (res: Response, options: CallOptions): Promise<T> {
  let buffered = ''
  const decoder = new TextDecoder()
  try {
    for await (const part of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffered += decoder.decode(part, { stream: true })
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
  }
  throw new DaemonNotRunningError('the Quloud daemon ended the operation without a result')
}
