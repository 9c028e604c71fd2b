import type { Command } from 'commander'
import type { RemovalReport } from '../../app/owner/remove-file.ts'
import type { CatalogueEntry } from '../../domain/formats/catalogue.ts'
import { formatSize } from '../../domain/config/size.ts'
import { printable } from '../../util/control-characters.ts'
import type { CliIo } from '../io.ts'
import { confirmDeletion } from '../confirm.ts'
import { FilesProgress } from '../files-progress.ts'
import { count, summaryLine } from '../summary.ts'
import { callDaemon, DATA_DIR_HELP, LONG_OPERATION_MS } from './daemon-call.ts'

export interface RmOptions {
  dataDir?: string
  json?: boolean
  yes?: boolean
  verbose?: boolean
}

/**
 * Deletes a file or directory (any path or id `ls` prints) from every holder
 * (proof-gated) and from the catalogue. It cannot be undone, so on a terminal it asks
 * first, naming what goes; without a terminal it needs --yes. Shows files done while
 * it works, then a summary (a line per file with --verbose).
 */
export async function runRm (ref: string, options: RmOptions, io: CliIo, input: NodeJS.ReadableStream = process.stdin): Promise<RemovalReport[]> {
  // what `ref` names, resolved by the daemon: the question names what the removal takes
  const selection = await callDaemon<{ top: CatalogueEntry, entries: CatalogueEntry[] }>(options.dataDir, io, 'POST', '/v1/list', { ref, tree: true }, { timeoutMs: 120_000 })
  const files = selection.entries.filter((e) => e.kind === 'file')
  const bytes = files.reduce((n, e) => n + e.size, 0)
  const what = `${printable(selection.top.name)}${selection.top.kind === 'directory' ? '/' : ''} (${count(files.length, 'file')}, ${formatSize(bytes)})`
  await confirmDeletion(io, what, options.yes, input)
  const bar = new FilesProgress(io, 'removing', options.json !== true)
  const started = performance.now()
  let reports: RemovalReport[]
  try {
    // the exact id: the catalogue may change between the question and the answer
    reports = await callDaemon<RemovalReport[]>(options.dataDir, io, 'POST', '/v1/rm', { ref: selection.top.fileId }, {
      timeoutMs: LONG_OPERATION_MS,
      onProgress: (event) => bar.update(event)
    })
  } finally {
    bar.finish()
  }
  if (options.json === true) {
    io.out(JSON.stringify(reports, null, 2) + '\n')
    return reports
  }
  if (options.verbose === true) {
    for (const report of reports) io.out(`removed ${printable(report.name)} (${report.fileId}): ${report.deleted} stored pieces deleted\n`)
  }
  printRemovals(io, 'removed', reports, bytes, performance.now() - started)
  return reports
}

/** The summary of a deletion, and a warning naming how many holders kept their copies. */
export function printRemovals (io: CliIo, verb: string, reports: RemovalReport[], bytes: number, elapsedMs: number): void {
  const unreachable = new Set(reports.flatMap((r) => r.unreachable))
  const deleted = reports.reduce((n, r) => n + r.deleted, 0)
  io.out(`${summaryLine(verb, { files: reports.length, bytes }, elapsedMs)}; ${deleted} stored pieces deleted\n`)
  if (unreachable.size > 0) io.err(`quloud: warning: ${unreachable.size} holder(s) unreachable: their copies stay, as ciphertext nobody else can read, until a later rm reaches them\n`)
}

export function registerRm (program: Command, io: CliIo): void {
  program.command('rm')
    .description('delete a file or directory (any path or id `quloud ls` prints) from every holder and from the catalogue')
    .argument('<path|id>', 'a name, directory or id from `quloud ls`')
    .option('-y, --yes', 'do not ask for confirmation (needed when not on a terminal)')
    .option('-v, --verbose', 'print a line per file removed')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .option('--json', 'print the removal reports as JSON')
    .action(async (ref: string, options: RmOptions) => { await runRm(ref, options, io) })
}
