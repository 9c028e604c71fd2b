import type { Command } from 'commander'
import type { CatalogueEntry } from '../../domain/formats/catalogue.ts'
import { idOf, versionOf, type VersionSummary } from '../../domain/formats/catalogue-paths.ts'
import type { ListedEntry } from '../../domain/formats/catalogue-listing.ts'
import { naturalCompare } from '../../domain/formats/natural-sort.ts'
import { formatSize } from '../../domain/config/size.ts'
import { InvalidInputError } from '../../errors.ts'
import { printable } from '../../util/control-characters.ts'
import type { CliIo } from '../io.ts'
import { formatLocalTime } from '../summary.ts'
import { callDaemon, DATA_DIR_HELP } from './daemon-call.ts'
import type { FileHealth } from '../../domain/formats/manifest-health.ts'
import type { FileDurability } from '../../app/owner/durability-estimate.ts'
import { formatLossPerYear } from '../loss-text.ts'

export interface LsOptions {
  dataDir?: string
  json?: boolean
  /** Every entry below, not only the first level. */
  tree?: boolean
  /** The stored versions of PATH instead. */
  versions?: boolean
}

/**
 * Lists the owner's catalogue: by default the first level, each directory collapsed to
 * one line with the size of everything below it; `PATH` (anything `ls` prints) lists
 * that directory's first level, or that file; `--tree` everything below. Every name
 * printed is an argument `get`, `share`, `rm` and `ls` accept, and so is every id.
 */
export async function runLs (path: string | undefined, options: LsOptions, io: CliIo): Promise<void> {
  if (options.versions === true) return runLsVersions(path, options, io)
  // the daemon picks what is shown: the catalogue holds every version of every tree
  const { top, entries } = await callDaemon<{ top?: CatalogueEntry, entries: Listed[] }>(options.dataDir, io, 'POST', '/v1/list', {
    ...(path === undefined ? {} : { ref: path }),
    tree: options.tree === true || options.json === true
  }, { timeoutMs: 120_000 })
  if (options.json === true) {
    io.out(JSON.stringify(entries, null, 2) + '\n')
    return
  }
  if (top === undefined && entries.length === 0) {
    io.out('No files yet. Store some with `quloud put PATH`.\n')
    return
  }
  const lines = ['ID'.padEnd(32) + '  ' + 'SIZE'.padStart(10) + '  MODIFIED' + ' '.repeat(15) + 'HEALTH  ' + 'LOSS'.padStart(LOSS_WIDTH) + '  NAME']
  for (const entry of entries.slice().sort((a, b) => naturalCompare(a.name, b.name))) {
    // a directory's size is that of everything below it
    const size = entry.kind === 'directory' ? entry.bytesBelow ?? 0 : entry.size
    lines.push(`${idOf(entry)}  ${formatSize(size).padStart(10)}  ${formatLocalTime(entry.mtimeMs)}  ${healthOf(entry).padStart(6)}  ${lossOf(entry).padStart(LOSS_WIDTH)}  ${nameOf(entry)}${(entry.versions ?? 1) > 1 ? `  (version ${versionOf(entry)} of ${entry.versions})` : ''}`)
  }
  io.out(lines.join('\n') + '\n')
}

/** `ls --versions PATH`: one line per stored version, oldest first; `get --version N` restores one. */
async function runLsVersions (path: string | undefined, options: LsOptions, io: CliIo): Promise<void> {
  if (path === undefined) throw new InvalidInputError('ls --versions needs a PATH: the file or directory whose versions to list')
  // each version's entries only for --json: for a file in a tree they are the whole tree, once per version
  const versions = await callDaemon<VersionSummary[]>(options.dataDir, io, 'POST', '/v1/versions', { ref: path, entries: options.json === true }, { timeoutMs: 120_000 })
  if (options.json === true) {
    io.out(JSON.stringify(versions, null, 2) + '\n')
    return
  }
  const lines = ['VERSION  STORED' + ' '.repeat(17) + 'FILES' + 'SIZE'.padStart(12) + '  ID']
  for (const v of versions) {
    const stored = v.storedAt === undefined ? '-'.padEnd(21) : formatLocalTime(v.storedAt)
    lines.push(`${String(v.version).padStart(7)}  ${stored}  ${String(v.files).padStart(5)}${formatSize(v.bytes).padStart(12)}  ${idOf(v.top)}`)
  }
  io.out(lines.join('\n') + '\n')
}

/** What `POST /v1/list` gives of an entry: sizes below and versions (catalogue-listing.ts), health once an audit round has read its manifest. */
type Listed = ListedEntry & { health?: FileHealth, durability?: FileDurability }

/** "≈1e-9/yr" and "<1e-15/yr" fit. */
const LOSS_WIDTH = 10

/** Healthy shards (or copies) of those the file has when whole; "-" until an audit round read its manifest. */
function healthOf (entry: Listed): string {
  const h = entry.health
  return h === undefined ? '-' : `${h.healthy}/${h.total}`
}

/** The modelled chance of losing the file within a year (docs/durability.md); "-" while its health is unknown. */
function lossOf (entry: Listed): string {
  return entry.durability === undefined ? '-' : formatLossPerYear(entry.durability.lossPerYear)
}

function nameOf (entry: CatalogueEntry): string {
  if (entry.kind === 'directory') return printable(entry.name) + '/'
  if (entry.kind === 'symlink') return `${printable(entry.name)} -> ${printable(entry.target ?? '')}`
  return printable(entry.name)
}

export function registerLs (program: Command, io: CliIo): void {
  program.command('ls')
    .description('list your stored files and directories; directories collapsed, a PATH lists inside it')
    .argument('[path]', 'a name or id from `quloud ls` (a directory lists its first level)')
    .option('-R, --tree', 'every file and directory below, not only the first level')
    .option('--versions', 'the stored versions of PATH (restore one with `quloud get PATH --version N`)')
    .option('--json', 'print the entries of the newest versions (those below PATH, if given; with --versions, every version of PATH) as JSON')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(async (path: string | undefined, options: LsOptions) => { await runLs(path, options, io) })
}
