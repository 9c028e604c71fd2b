import { resolve } from 'node:path'
import { Option, type Command } from 'commander'
import type { ExistingPolicy, RestoreReport } from '../../app/owner/owner-service.ts'
import { printable } from '../../util/control-characters.ts'
import type { CliIo } from '../io.ts'
import { ProgressBar } from '../progress-bar.ts'
import { summaryLine } from '../summary.ts'
import { positiveArgument, timeArgument } from './arguments.ts'
import { callDaemon, DATA_DIR_HELP, LONG_OPERATION_MS } from './daemon-call.ts'

export interface GetOptions {
  dataDir?: string
  output?: string
  json?: boolean
  verbose?: boolean
  skipExisting?: boolean
  overwrite?: boolean
  /** An older version of the name (`quloud ls --versions NAME`). */
  version?: number
  /** Else the newest version stored by then (unix ms). */
  at?: number
}

/** Restores a file or directory from the federation; one summary line, a line per file with --verbose. */
export async function runGet (ref: string, options: GetOptions, io: CliIo, cwd = process.cwd()): Promise<RestoreReport> {
  const existing: ExistingPolicy = options.skipExisting === true ? 'skip' : options.overwrite === true ? 'overwrite' : 'refuse'
  const bar = new ProgressBar(io, options.json !== true)
  const started = performance.now()
  let result: RestoreReport
  try {
    result = await callDaemon<RestoreReport>(options.dataDir, io, 'POST', '/v1/get',
      { ref, cwd, existing, ...(options.version === undefined ? {} : { version: options.version }), ...(options.at === undefined ? {} : { at: options.at }), ...(options.output === undefined ? {} : { output: resolve(cwd, options.output) }) },
      { timeoutMs: LONG_OPERATION_MS, onProgress: (event) => bar.update(event) })
  } finally {
    bar.finish()
  }
  if (options.json === true) {
    io.out(JSON.stringify(result) + '\n')
    return result
  }
  if (options.verbose === true) {
    for (const path of result.written) io.out(`restored ${printable(path)}\n`)
    for (const path of result.skipped) io.out(`kept ${printable(path)} (already there, same content)\n`)
  }
  io.out(summaryLine('restored', { ...result, skipped: result.skipped.length, skippedWhat: 'existing' }, performance.now() - started) + '\n')
  return result
}

export function registerGet (program: Command, io: CliIo): void {
  program.command('get')
    .description('restore a file or a directory (any path or id `quloud ls` prints) from the federation')
    .argument('<path|id>', 'a name, directory or id from `quloud ls` (an id prefix of 8+ hex digits will do)')
    .option('-o, --output <path>', 'where to write (default: ./<name>)')
    .option('--version <n>', 'restore version N of the name (see `quloud ls --versions NAME`); default the newest', positiveArgument)
    .addOption(new Option('--at <time>', 'restore the newest version stored by then, e.g. 2026-11-30 or "2026-11-30 18:00"').argParser(timeArgument).conflicts('version'))
    .option('--skip-existing', 'keep files already there with the same content (resumes an interrupted restore); refuse other ones')
    .addOption(new Option('--overwrite', 'replace files that exist at the output paths').conflicts('skipExisting'))
    .option('-v, --verbose', 'print a line per file')
    .option('--json', 'print {written, skipped, files, links, directories, bytes} and no progress')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(async (ref: string, options: GetOptions) => { await runGet(ref, options, io) })
}
