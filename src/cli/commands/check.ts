import type { Command } from 'commander'
import type { FileCheck } from '../../app/owner/repair-service.ts'
import { printable } from '../../util/control-characters.ts'
import type { CliIo } from '../io.ts'
import { PartialError } from '../partial-error.ts'
import { callDaemon, DATA_DIR_HELP, LONG_OPERATION_MS } from './daemon-call.ts'

export interface CheckOptions {
  dataDir?: string
  repair?: boolean
  json?: boolean
}

/**
 * Audits the holders of NAME (or of every file) now, and with `--repair` rebuilds what
 * is gone on other nodes, as the daemon's own rounds do every auditEvery. One line per
 * file: healthy shards (or copies) of those it needs and has when whole. A file below
 * what it needs, or that could not be checked, makes the exit code 13 (partial).
 */
export async function runCheck (name: string | undefined, options: CheckOptions, io: CliIo): Promise<FileCheck[]> {
  const checks = await callDaemon<FileCheck[]>(options.dataDir, io, 'POST', '/v1/check', {
    ...(name === undefined ? {} : { ref: name }), repair: options.repair === true
  }, { timeoutMs: LONG_OPERATION_MS })
  if (options.json === true) io.out(JSON.stringify(checks, null, 2) + '\n')
  else {
    if (checks.length === 0) io.out('no files to check\n')
    for (const c of checks) io.out(`${describe(c)}  ${printable(c.name)}\n`)
  }
  const bad = checks.filter((c) => c.error !== undefined || (c.healthy ?? 0) < (c.needed ?? 1))
  if (bad.length > 0) throw new PartialError(`${bad.length} file(s) cannot be read from the holders that answer now: ${bad.map((c) => printable(c.name)).join(', ')}`)
  return checks
}

function describe (c: FileCheck): string {
  if (c.error !== undefined) return `unchecked (${c.error})`
  const audit = `${c.audited} audited${c.failed > 0 ? `, ${c.failed} failed` : ''}${(c.expired ?? 0) > 0 ? `, ${c.expired} expired (lease lapsed)` : ''}`
  const repaired = c.repaired > 0 ? `, ${c.repaired} rebuilt` : ''
  return `${c.healthy}/${c.total} healthy (${c.needed} needed, ${c.scheme ?? ''}; ${audit}${repaired})`
}

export function registerCheck (program: Command, io: CliIo): void {
  program.command('check')
    .description('audit the holders of your files now; --repair rebuilds what is lost on other nodes')
    .argument('[name]', 'a name or id from `quloud ls` (default: every file)')
    .option('--repair', 'rebuild lost shards and copies on new holders, as the daemon does after repairAfter')
    .option('--json', 'print the result per file as JSON')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(async (name: string | undefined, options: CheckOptions) => { await runCheck(name, options, io) })
}
