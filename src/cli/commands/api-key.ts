import { join } from 'node:path'
import type { Command } from 'commander'
import { callApi, findDaemon } from '../../adapters/control-api/control-api-client.ts'
import { readApiKey, rotateApiKey, type ApiKeyKind } from '../../adapters/data-dir/api-keys.ts'
import { assertNodeDir, FILES, resolveDataDir } from '../../adapters/data-dir/data-dir-layout.ts'
import { DaemonNotRunningError, NotFoundError } from '../../errors.ts'
import type { CliIo } from '../io.ts'
import { DATA_DIR_HELP } from './daemon-call.ts'

export interface ApiKeyOptions {
  dataDir?: string
  json?: boolean
  /** The metrics scrape key instead of the control API key. */
  metrics?: boolean
}

function kindOf (options: ApiKeyOptions): ApiKeyKind {
  return options.metrics === true ? 'metrics' : 'control'
}

function fileOf (dataDir: string, kind: ApiKeyKind): string {
  return join(dataDir, kind === 'control' ? FILES.apiToken : FILES.metricsToken)
}

/** Prints a key and the file that holds it (for curl, a dashboard, a Prometheus scrape job). */
export async function runApiKeyShow (options: ApiKeyOptions, io: CliIo): Promise<string> {
  const dataDir = resolveDataDir(options.dataDir, io.env)
  await assertNodeDir(dataDir)
  const kind = kindOf(options)
  const key = await readApiKey(dataDir, kind)
  if (key === undefined) throw new NotFoundError(`${fileOf(dataDir, kind)} does not exist yet; \`quloud start\` or \`quloud api-key rotate\` makes it`)
  io.out(options.json === true ? JSON.stringify({ kind, key, file: fileOf(dataDir, kind) }) + '\n' : key + '\n')
  return key
}

/**
 * Replaces a key. A running daemon does it itself, so the old key stops working at
 * once; without one the file is rewritten and the next start reads it.
 */
export async function runApiKeyRotate (options: ApiKeyOptions, io: CliIo): Promise<{ kind: ApiKeyKind, file: string, daemon: boolean }> {
  const dataDir = resolveDataDir(options.dataDir, io.env)
  await assertNodeDir(dataDir)
  const kind = kindOf(options)
  let daemon = true
  try {
    await callApi(await findDaemon(dataDir), 'POST', '/v1/api-key/rotate', { kind })
  } catch (err) {
    if (!(err instanceof DaemonNotRunningError)) throw err
    daemon = false
    await rotateApiKey(dataDir, kind)
  }
  const result = { kind, file: fileOf(dataDir, kind), daemon }
  if (options.json === true) io.out(JSON.stringify(result) + '\n')
  else io.out(`new ${kind === 'control' ? 'API' : 'metrics'} key in ${result.file}${daemon ? '; the old one no longer works' : ''}\n`)
  return result
}

export function registerApiKey (program: Command, io: CliIo): void {
  const apiKey = program.command('api-key')
    .description('the control API key (api.token) and the metrics scrape key (metrics.token); see docs/api.md')
  apiKey.command('show')
    .description('print the key (the CLI reads it from the data directory by itself)')
    .option('--metrics', 'the key that opens GET /metrics only')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .option('--json', 'print {kind, key, file}')
    .action(async (options: ApiKeyOptions) => { await runApiKeyShow(options, io) })
  apiKey.command('rotate')
    .description('replace the key; the old one stops working at once')
    .option('--metrics', 'the key that opens GET /metrics only')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .option('--json', 'print {kind, file, daemon}')
    .action(async (options: ApiKeyOptions) => { await runApiKeyRotate(options, io) })
}
