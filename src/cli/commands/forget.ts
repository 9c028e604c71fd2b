import type { Command } from 'commander'
import type { RemovalReport } from '../../app/owner/remove-file.ts'
import type { VersionSummary } from '../../domain/formats/catalogue-paths.ts'
import { parseDuration } from '../../domain/config/duration.ts'
import { formatSize } from '../../domain/config/size.ts'
import { versionsToForget, type ForgetPolicy } from '../../domain/formats/forget-policy.ts'
import { printable } from '../../util/control-characters.ts'
import { confirmDeletion } from '../confirm.ts'
import { FilesProgress } from '../files-progress.ts'
import type { CliIo } from '../io.ts'
import { count } from '../summary.ts'
import { positiveArgument } from './arguments.ts'
import { callDaemon, DATA_DIR_HELP, LONG_OPERATION_MS } from './daemon-call.ts'
import { printRemovals } from './rm.ts'

export interface ForgetOptions {
  dataDir?: string
  keepLast?: number
  /** A duration (`30d`, `12h`): versions stored within it are kept. */
  keepWithin?: string
  yes?: boolean
  json?: boolean
}

/**
 * Forgets old versions of a name, keeping the newest `--keep-last N` and those stored
 * `--keep-within D` (the newest always): their chunks are deleted from every holder
 * unless a kept version still holds the same file.
 */
export async function runForget (ref: string, options: ForgetOptions, io: CliIo, input: NodeJS.ReadableStream = process.stdin): Promise<{ forgotten: number[], kept: number[], reports: RemovalReport[] }> {
  const policy: ForgetPolicy = {
    ...(options.keepLast === undefined ? {} : { keepLast: options.keepLast }),
    ...(options.keepWithin === undefined ? {} : { keepWithinMs: parseDuration(options.keepWithin, MAX_KEEP_WITHIN_MS) })
  }
  // counts, not entries: those of a tree's versions are the whole tree, once each
  const versions = await callDaemon<VersionSummary[]>(options.dataDir, io, 'POST', '/v1/versions', { ref }, { timeoutMs: 120_000 })
  // the daemon decides again when it forgets; this is what the question names
  const doomed = versionsToForget(versions, policy, Date.now())
  if (doomed.length === 0) {
    const none = { forgotten: [], kept: versions.map((v) => v.version), reports: [] }
    io.out(options.json === true ? JSON.stringify(none) + '\n' : `nothing to forget: ${printable(versions[0]!.top.name)} has ${count(versions.length, 'version')}\n`)
    return none
  }
  const bytes = doomed.reduce((n, v) => n + v.bytes, 0)
  await confirmDeletion(io, `${count(doomed.length, 'old version')} of ${printable(versions[0]!.top.name)} (${doomed.map((v) => v.version).join(', ')}; ${formatSize(bytes)} as stored, less what newer versions keep)`, options.yes, input)
  const bar = new FilesProgress(io, 'forgetting', options.json !== true)
  const started = performance.now()
  let result: { forgotten: number[], kept: number[], reports: RemovalReport[] }
  try {
    result = await callDaemon(options.dataDir, io, 'POST', '/v1/forget', { ref, ...policy }, { timeoutMs: LONG_OPERATION_MS, onProgress: (event) => bar.update(event) })
  } finally {
    bar.finish()
  }
  if (options.json === true) {
    io.out(JSON.stringify(result, null, 2) + '\n')
    return result
  }
  io.out(`forgot version(s) ${result.forgotten.join(', ')}; kept ${result.kept.join(', ')}\n`)
  printRemovals(io, 'deleted', result.reports, result.reports.reduce((n, r) => n + r.size, 0), performance.now() - started)
  return result
}

/** Ten years. */
const MAX_KEEP_WITHIN_MS = 3650 * 86_400_000

export function registerForget (program: Command, io: CliIo): void {
  program.command('forget')
    .description('forget old versions of a file or directory, keeping the newest; frees what no kept version holds')
    .argument('<path|id>', 'a name or id from `quloud ls`')
    .option('--keep-last <n>', 'keep the newest N versions', positiveArgument)
    .option('--keep-within <duration>', 'keep versions stored within this long, e.g. 30d, 12h')
    .option('-y, --yes', 'do not ask for confirmation (needed when not on a terminal)')
    .option('--json', 'print {forgotten, kept, reports} as JSON')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(async (ref: string, options: ForgetOptions) => { await runForget(ref, options, io) })
}
