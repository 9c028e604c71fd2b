import { resolve } from 'node:path'
import { InvalidArgumentError, Option, type Command } from 'commander'
import type { PutOutcome } from '../../app/owner/owner-service.ts'
import { formatSize } from '../../domain/config/size.ts'
import { parseSchemeChoice } from '../../domain/formats/stripe-layout.ts'
import { printable } from '../../util/control-characters.ts'
import type { CliIo } from '../io.ts'
import { PartialError } from '../partial-error.ts'
import { ProgressBar } from '../progress-bar.ts'
import { count, summaryLine } from '../summary.ts'
import { callDaemon, DATA_DIR_HELP, LONG_OPERATION_MS } from './daemon-call.ts'

export interface PutOptions {
  dataDir?: string
  /** Neither this nor `erasure`: the daemon's `erasure` setting decides. */
  replicas?: number
  erasure?: string
  json?: boolean
  verbose?: boolean
}

/**
 * Stores files and directories in the federation; prints one id per argument and a
 * summary. Special files (sockets, fifos, devices) cannot be stored: they are listed
 * and the command exits 13 (partial) after storing everything else.
 */
export async function runPut (paths: string[], options: PutOptions, io: CliIo, cwd = process.cwd()): Promise<PutOutcome[]> {
  const bar = new ProgressBar(io, options.json !== true)
  const started = performance.now()
  let outcomes: PutOutcome[]
  let filesDone = 0
  try {
    outcomes = await callDaemon<PutOutcome[]>(options.dataDir, io, 'POST', '/v1/put',
      { paths: paths.map((p) => resolve(cwd, p)), ...schemeOf(options) },
      {
        timeoutMs: LONG_OPERATION_MS,
        onProgress: (event) => {
          bar.update(event)
          if (options.verbose === true && options.json !== true && event.filesDone !== undefined && event.filesDone > filesDone) {
            filesDone = event.filesDone
            io.out(`stored ${printable(event.name)}\n`)
          }
        }
      })
  } finally {
    bar.finish()
  }
  const skipped = outcomes.flatMap((o) => o.skipped ?? [])
  if (options.json === true) {
    io.out(JSON.stringify(outcomes, null, 2) + '\n')
  } else {
    for (const outcome of outcomes) {
      const what = outcome.kind === 'directory' ? `directory ${printable(outcome.name)}/ (${count(outcome.files, 'file')}, ${formatSize(outcome.size)})` : `${printable(outcome.name)} (${formatSize(outcome.size)})`
      io.out(`${outcome.id}  ${what} on ${outcome.holders.length} node(s)\n`)
      if (outcome.underReplicated) {
        io.err(`quloud: warning: ${printable(outcome.name)} is under-replicated (less than ${outcome.scheme}): too few live peers had room or some failed\n`)
      }
      if (outcome.underDiversified === true) {
        io.err(`quloud: note: ${printable(outcome.name)} is under-diversified: more of its copies than a subnet's share sit behind one relay or on peers without a public address, for want of other peers\n`)
      }
    }
    for (const s of skipped) io.err(`quloud: not stored: ${printable(s.path)} (a ${s.kind})\n`)
    io.out(summaryLine('stored', {
      files: outcomes.reduce((n, o) => n + o.files, 0),
      bytes: outcomes.reduce((n, o) => n + o.size, 0),
      links: outcomes.reduce((n, o) => n + (o.links ?? 0), 0),
      unchanged: outcomes.reduce((n, o) => n + (o.unchanged ?? 0), 0),
      resumed: outcomes.reduce((n, o) => n + (o.resumed ?? 0), 0),
      skipped: skipped.length,
      skippedWhat: 'special'
    }, performance.now() - started) + '\n')
  }
  if (skipped.length > 0) throw new PartialError(`${count(skipped.length, 'special file')} (socket, fifo or device) not stored; everything else was`)
  return outcomes
}

function schemeOf (options: PutOptions): { replicas?: number, erasure?: string } {
  return options.erasure !== undefined ? { erasure: options.erasure } : options.replicas !== undefined ? { replicas: options.replicas } : {}
}

function erasureArgument (value: string): string {
  try {
    if (parseSchemeChoice(value).kind === 'replicas') throw new Error('use --replicas N for copies')
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message)
  }
  return value
}

function replicasArgument (value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1 || n > 16) throw new InvalidArgumentError('replicas must be a whole number from 1 to 16')
  return n
}

export function registerPut (program: Command, io: CliIo): void {
  program.command('put')
    .description('chunk, encrypt and store files or whole directories (links as links) on other nodes of the federation')
    .argument('<path...>', 'files or directories (read by the daemon: in a container, a path inside it)')
    .addOption(new Option('--replicas <n>', 'distinct nodes that keep each chunk (default: the node\'s "erasure" setting, auto)').argParser(replicasArgument).conflicts('erasure'))
    .addOption(new Option('--erasure <K+M>', 'Reed-Solomon: K data + M parity shards per stripe, each on a distinct node; any K read it back ("auto": chosen by the federation\'s size)').argParser(erasureArgument))
    .option('-v, --verbose', 'print a line per file stored')
    .option('--json', 'print [{id, name, kind, size, files, links, skipped, underReplicated, underDiversified, holders, scheme}] and no progress')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(async (paths: string[], options: PutOptions) => { await runPut(paths, options, io) })
}
