import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DataDirError } from '../../errors.ts'
import { writeAtomic } from './atomic-file.ts'
import { FILES } from './data-dir-layout.ts'

/**
 * The two secrets of the control API, one file each in the data directory (0600):
 *
 * - `control`: `api.token`, the API key. Whoever reads it can do anything the owner
 *   can through the API (put, get, rm, share, stop), so only the CLI and the owner hold it.
 * - `metrics`: `metrics.token`, accepted for `GET /metrics` alone. A Prometheus server
 *   keeps its scrape credentials in its own configuration, on another host or in
 *   another container; a leak there shows counters, never files.
 *
 * Both persist across restarts (a dashboard or a scrape job set up once keeps working)
 * and change only when rotated.
 */
export type ApiKeyKind = 'control' | 'metrics'

const FILE_OF: Record<ApiKeyKind, string> = { control: FILES.apiToken, metrics: FILES.metricsToken }

export interface ApiKeys {
  control: string
  metrics: string
}

function newKey (): string {
  // taken when needed: loading node:crypto is ~5 ms of every client verb, which only reads a key
  return process.getBuiltinModule('node:crypto').randomBytes(32).toString('base64url')
}

/** Creates both keys, replacing any there: at `init`. */
export async function createApiKeys (dataDir: string): Promise<ApiKeys> {
  const keys = { control: newKey(), metrics: newKey() }
  for (const kind of ['control', 'metrics'] as const) await writeAtomic(join(dataDir, FILE_OF[kind]), keys[kind] + '\n', 0o600)
  return keys
}

/** Reads one key; undefined when its file does not exist. */
export async function readApiKey (dataDir: string, kind: ApiKeyKind): Promise<string | undefined> {
  try {
    const key = (await readFile(join(dataDir, FILE_OF[kind]), 'utf8')).trim()
    if (key === '') throw new DataDirError(`${join(dataDir, FILE_OF[kind])} is empty; run \`quloud api-key rotate\``)
    return key
  } catch (err: any) {
    if (err?.code === 'ENOENT') return undefined
    if (err instanceof DataDirError) throw err
    throw new DataDirError(`cannot read ${join(dataDir, FILE_OF[kind])}: ${err?.message}`, { cause: err })
  }
}

/** Both keys, creating whichever is missing: at start, for nodes made before keys persisted. */
export async function ensureApiKeys (dataDir: string): Promise<ApiKeys> {
  const keys: Partial<ApiKeys> = {}
  for (const kind of ['control', 'metrics'] as const) {
    keys[kind] = await readApiKey(dataDir, kind) ?? await rotateApiKey(dataDir, kind)
  }
  return keys as ApiKeys
}

/** Writes a new key of `kind` and returns it; the old one stops working once the daemon takes the new one. */
export async function rotateApiKey (dataDir: string, kind: ApiKeyKind): Promise<string> {
  const key = newKey()
  try {
    await writeAtomic(join(dataDir, FILE_OF[kind]), key + '\n', 0o600)
  } catch (err: any) {
    throw new DataDirError(`cannot write ${join(dataDir, FILE_OF[kind])}: ${err?.message}`, { cause: err })
  }
  return key
}
