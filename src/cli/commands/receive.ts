import { resolve } from 'node:path'
import type { Command } from 'commander'
import { decodeShareCode } from '../../domain/formats/share-code.ts'
import { formatSize } from '../../domain/config/size.ts'
import type { CliIo } from '../io.ts'
import { ProgressBar } from '../progress-bar.ts'
import { callDaemon, DATA_DIR_HELP, LONG_OPERATION_MS } from './daemon-call.ts'

export interface ReceiveOptions {
  dataDir?: string
  output?: string
  json?: boolean
}

/** Fetches and decrypts the file a share code names. */
export async function runReceive (code: string, options: ReceiveOptions, io: CliIo, cwd = process.cwd()): Promise<{ path: string, name: string, size: number }> {
  // a mistyped code fails here, before the daemon or the network is asked anything
  decodeShareCode(code)
  const bar = new ProgressBar(io, options.json !== true)
  let result: { path: string, name: string, size: number }
  try {
    result = await callDaemon(options.dataDir, io, 'POST', '/v1/receive',
      { code, cwd, ...(options.output === undefined ? {} : { output: resolve(cwd, options.output) }) },
      { timeoutMs: LONG_OPERATION_MS, onProgress: (event) => bar.update(event) })
  } finally {
    bar.finish()
  }
  io.out(options.json === true ? JSON.stringify(result) + '\n' : `received ${result.name} (${formatSize(result.size)}) into ${result.path}\n`)
  return result
}

export function registerReceive (program: Command, io: CliIo): void {
  program.command('receive')
    .description('fetch and decrypt a file someone shared with you')
    .argument('<code>', 'the share code (Q1-…); case, spaces and hyphens do not matter')
    .option('-o, --output <path>', 'where to write (default: ./<shared name>); never overwrites')
    .option('--json', 'print {path, name, size} and no progress')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(async (code: string, options: ReceiveOptions) => { await runReceive(code, options, io) })
}
