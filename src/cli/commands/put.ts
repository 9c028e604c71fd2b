import { resolve } from 'node:path'
import { InvalidArgumentError, type Command } from 'commander'
import type { PutOutcome } from '../../app/owner/owner-service.ts'
import { formatSize } from '../../domain/config/size.ts'
import type { CliIo } from '../io.ts'
import { ProgressBar } from '../progress-bar.ts'
import { callDaemon, DATA_DIR_HELP, LONG_OPERATION_MS } from './daemon-call.ts'

export interface PutOptions {
  dataDir?: string
  replicas: number
  json?: boolean
}

/** Stores files and directories in the federation; prints one id per argument. */
export async function runPut (paths: string[], options: PutOptions, io: CliIo, cwd = process.cwd()): Promise<PutOutcome[]> {
  const bar = new ProgressBar(io, options.json !== true)
  let outcomes: PutOutcome[]
  try {
    outcomes = await callDaemon<PutOutcome[]>(options.dataDir, io, 'POST', '/v1/put',
      { paths: paths.map((p) => resolve(cwd, p)), replicas: options.replicas },
      { timeoutMs: LONG_OPERATION_MS, onProgress: (event) => bar.update(event) })
  } finally {
    bar.finish()
  }
  if (options.json === true) {
    io.out(JSON.stringify(outcomes, null, 2) + '\n')
    return outcomes
  }
  for (const outcome of outcomes) {
    const what = outcome.kind === 'directory' ? `directory ${outcome.name}/ (${outcome.files} files, ${formatSize(outcome.size)})` : `${outcome.name} (${formatSize(outcome.size)})`
    io.out(`${outcome.id}  ${what} on ${outcome.holders.length} node(s)\n`)
    if (outcome.underReplicated) {
      io.err(`quloud: warning: ${outcome.name} is under-replicated (fewer than ${options.replicas} copies): too few live peers had room\n`)
    }
  }
  return outcomes
}

function replicasArgument (value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1 || n > 16) throw new InvalidArgumentError('replicas must be a whole number from 1 to 16')
  return n
}

export function registerPut (program: Command, io: CliIo): void {
  program.command('put')
    .description('chunk, encrypt and store files or whole directories on other nodes of the federation')
    .argument('<path...>', 'files or directories (read by the daemon: in a container, a path inside it)')
    .option('--replicas <n>', 'distinct nodes that keep each chunk', replicasArgument, 3)
    .option('--json', 'print [{id, name, kind, size, files, underReplicated, holders}] and no progress')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(async (paths: string[], options: PutOptions) => { await runPut(paths, options, io) })
}
