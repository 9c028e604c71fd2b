import type { Command } from 'commander'
import { shareCodeQr } from '../share-code-qr.ts'
import { formatSize } from '../../domain/config/size.ts'
import type { CliIo } from '../io.ts'
import { callDaemon, DATA_DIR_HELP } from './daemon-call.ts'

export interface ShareOptions {
  dataDir?: string
}

/**
 * Prints a share code for one file. On a terminal a QR code comes first; the code
 * itself is always the last line, so `quloud share X | tail -1` is the code.
 */
export async function runShare (ref: string, options: ShareOptions, io: CliIo): Promise<string> {
  const shared = await callDaemon<{ code: string, name: string, size: number }>(options.dataDir, io, 'POST', '/v1/share', { ref }, { timeoutMs: 120_000 })
  if (io.isTty) {
    io.out(await shareCodeQr(shared.code))
    io.out(`\nShare code for ${shared.name} (${formatSize(shared.size)}). Whoever has it can fetch and read this file, nothing else:\n`)
  }
  io.out(shared.code + '\n')
  return shared.code
}

export function registerShare (program: Command, io: CliIo): void {
  program.command('share')
    .description('print a share code for one file (and a QR code on a terminal); the code is the last line')
    .argument('<file-id|name>', 'an id or name from `quloud ls`')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(async (ref: string, options: ShareOptions) => { await runShare(ref, options, io) })
}
