import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DaemonNotRunningError, QuloudError, UnauthorizedError } from '../../errors.ts'
import { FILES } from '../data-dir/data-dir-layout.ts'

export interface ApiEndpoint {
  url: string
  token: string
}

/** Where the daemon of `dataDir` listens, from the files it wrote at start. */
export async function findDaemon (dataDir: string): Promise<ApiEndpoint> {
  let url: string
  let token: string
  try {
    const info = JSON.parse(await readFile(join(dataDir, FILES.api), 'utf8')) as { url?: unknown }
    token = (await readFile(join(dataDir, FILES.apiToken), 'utf8')).trim()
    if (typeof info.url !== 'string') throw new Error('api.json has no url')
    url = info.url
  } catch (err) {
    throw new DaemonNotRunningError(`no Quloud daemon is running for ${dataDir} (start one with \`quloud start --data-dir ${dataDir}\`)`, { cause: err })
  }
  return { url, token }
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
  if (res.status === 401) throw new UnauthorizedError('the daemon rejected the API token (was the node restarted with another data directory?)')
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
