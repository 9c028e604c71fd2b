import { resolve } from 'node:path'
import type { Command } from 'commander'
import { formatSize } from '../../domain/config/size.ts'
import type { CliIo } from '../io.ts'
import { ProgressBar } from '../progress-bar.ts'
import { readSecretLine } from '../read-phrase.ts'
import { callDaemon, DATA_DIR_HELP, LONG_OPERATION_MS } from './daemon-call.ts'

export interface ReceiveOptions {
  dataDir?: string
  output?: string
  json?: boolean
}

/**
 * Fetches and decrypts the file a share code names. Without a code (or with `-`) the
 * code is read from standard input, so it stays out of `ps` and the shell's history.
 */
export async function runReceive (given: string | undefined, options: ReceiveOptions, io: CliIo, cwd = process.cwd(), input: NodeJS.ReadableStream = process.stdin): Promise<{ path: string, name: string, size: number }> {
  const code = given === undefined || given === '-'
    ? await readSecretLine(io, { prompt: 'Share code: ', what: 'share code', maxChars: 512 }, input)
    : given
  // a mistyped code fails here, before the daemon or the network is asked anything;
  // the codec loads for this verb only
  const { looksLikeShortCode, parseShortCode } = await import('../../domain/formats/short-code.ts')
  if (looksLikeShortCode(code)) {
    parseShortCode(code)
  } else {
    const { decodeShareCode } = await import('../../domain/formats/share-code.ts')
    decodeShareCode(code)
  }
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
    .argument('[code]', 'the share code (Q2-…) or a short code (417-orbit-ladder-velvet); case, spaces and hyphens do not matter. Leave it out or give - to type or pipe it in, out of sight of ps and the shell history')
    .option('-o, --output <path>', 'where to write (default: ./<shared name>); never overwrites')
    .option('--json', 'print {path, name, size} and no progress')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(async (code: string | undefined, options: ReceiveOptions) => { await runReceive(code, options, io) })
}
