import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DaemonNotRunningError, QuloudError, UnauthorizedError } from '../../errors.ts'
import { FILES } from '../data-dir/data-dir.ts'

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

/** Calls one control API route and returns its JSON result, or throws a typed error. */
export async function callApi<T> (endpoint: ApiEndpoint, method: 'GET' | 'POST', path: string, body?: unknown, timeoutMs = 10_000): Promise<T> {
  let res: Response
  try {
    res = await fetch(endpoint.url + path, {
      method,
      headers: { authorization: `Bearer ${endpoint.token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs)
    })
  } catch (err) {
    throw new DaemonNotRunningError(`the Quloud daemon at ${endpoint.url} does not answer; is it running?`, { cause: err })
  }
  const payload = await res.json().catch(() => undefined) as any
  if (res.status === 401) throw new UnauthorizedError('the daemon rejected the API token (was the node restarted with another data directory?)')
  if (!res.ok) {
    throw new RemoteError(String(payload?.error?.code ?? 'internal'), String(payload?.error?.message ?? `HTTP ${res.status}`))
  }
  return payload as T
}
