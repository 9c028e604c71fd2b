import { resolve } from 'node:path'
import type { Command } from 'commander'
import type { CliIo } from '../io.ts'
import { ProgressBar } from '../progress-bar.ts'
import { callDaemon, DATA_DIR_HELP, LONG_OPERATION_MS } from './daemon-call.ts'

export interface GetOptions {
  dataDir?: string
  output?: string
  json?: boolean
}

/** Restores a file or directory from the federation. */
export async function runGet (ref: string, options: GetOptions, io: CliIo, cwd = process.cwd()): Promise<string[]> {
  const bar = new ProgressBar(io, options.json !== true)
  let result: { written: string[] }
  try {
    result = await callDaemon<{ written: string[] }>(options.dataDir, io, 'POST', '/v1/get',
      { ref, cwd, ...(options.output === undefined ? {} : { output: resolve(cwd, options.output) }) },
      { timeoutMs: LONG_OPERATION_MS, onProgress: (event) => bar.update(event) })
  } finally {
    bar.finish()
  }
  io.out(options.json === true ? JSON.stringify(result) + '\n' : result.written.map((p) => `restored ${p}\n`).join(''))
  return result.written
}

export function registerGet (program: Command, io: CliIo): void {
  program.command('get')
    .description('restore a file or a directory (by id or name) from the federation')
    .argument('<file-id|name>', 'an id or name from `quloud ls`')
    .option('-o, --output <path>', 'where to write (default: ./<name>); never overwrites')
    .option('--json', 'print {written: [paths]} and no progress')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(async (ref: string, options: GetOptions) => { await runGet(ref, options, io) })
}
