import type { Command } from 'commander'
import type { RemovalReport } from '../../app/owner/remove-file.ts'
import type { CliIo } from '../io.ts'
import { callDaemon, DATA_DIR_HELP, LONG_OPERATION_MS } from './daemon-call.ts'

export interface RmOptions {
  dataDir?: string
  json?: boolean
}

/** Deletes a file or directory from every holder (proof-gated) and from the catalogue. */
export async function runRm (ref: string, options: RmOptions, io: CliIo): Promise<RemovalReport[]> {
  const reports = await callDaemon<RemovalReport[]>(options.dataDir, io, 'POST', '/v1/rm', { ref }, { timeoutMs: LONG_OPERATION_MS })
  if (options.json === true) {
    io.out(JSON.stringify(reports, null, 2) + '\n')
    return reports
  }
  for (const report of reports) {
    io.out(`removed ${report.name} (${report.fileId}): ${report.deleted} stored pieces deleted` +
      (report.unreachable.length > 0 ? `; ${report.unreachable.length} holder(s) unreachable, their copies stay unreadable ciphertext` : '') + '\n')
  }
  return reports
}

export function registerRm (program: Command, io: CliIo): void {
  program.command('rm')
    .description('delete a file (or a directory by its group id or name) from every holder and from the catalogue')
    .argument('<file-id|name>', 'an id or name from `quloud ls`')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .option('--json', 'print the removal reports as JSON')
    .action(async (ref: string, options: RmOptions) => { await runRm(ref, options, io) })
}
