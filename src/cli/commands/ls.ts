import type { Command } from 'commander'
import type { CatalogueEntry } from '../../domain/formats/catalogue.ts'
import { idOf, isTreeRoot, newestVersions, resolveReference, versionCounts, versionOf } from '../../domain/formats/catalogue-paths.ts'
import { naturalCompare } from '../../domain/formats/natural-sort.ts'
import { formatSize } from '../../domain/config/size.ts'
import { InvalidInputError } from '../../errors.ts'
import type { StoredVersion } from '../../domain/formats/catalogue-paths.ts'
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
export async function runLs (path: string | undefined, options: LsOptions, io: CliIo): Promise<CatalogueEntry[]> {
  if (options.versions === true) return runLsVersions(path, options, io)
  const all = await callDaemon<Array<Listed>>(options.dataDir, io, 'GET', '/v1/files', undefined, { timeoutMs: 120_000 })
  const selection = path === undefined ? undefined : resolveReference(all, path)
  const entries = selection?.entries ?? all
  if (options.json === true) {
    io.out(JSON.stringify(entries, null, 2) + '\n')
    return entries
  }
  if (all.length === 0) {
    io.out('No files yet. Store some with `quloud put PATH`.\n')
    return entries
  }
  const current = newestVersions(all)
  const shown = selection === undefined
    ? (options.tree === true ? current : current.filter((e) => e.group === undefined || e.name === e.group.root))
    : selection.top.kind !== 'directory'
      ? [selection.top]
      : options.tree === true ? entries : entries.filter((e) => e === selection.top || isChild(e, selection.top))
  const lines = ['ID'.padEnd(32) + '  ' + 'SIZE'.padStart(10) + '  MODIFIED' + ' '.repeat(15) + 'HEALTH  ' + 'LOSS'.padStart(LOSS_WIDTH) + '  NAME']
  const sizes = treeSizes(all)
  const counts = versionCounts(all)
  for (const entry of shown.slice().sort((a, b) => naturalCompare(a.name, b.name))) {
    // a directory's size is that of everything below it
    const size = entry.kind === 'directory' ? sizes.get(`${entry.group?.id ?? ''}/${entry.name}`) ?? 0 : entry.size
    const versions = isTreeRoot(entry) || entry.group === undefined ? counts(entry) : 1
    lines.push(`${idOf(entry)}  ${formatSize(size).padStart(10)}  ${formatLocalTime(entry.mtimeMs)}  ${healthOf(entry).padStart(6)}  ${lossOf(entry).padStart(LOSS_WIDTH)}  ${nameOf(entry)}${versions > 1 ? `  (version ${versionOf(entry)} of ${versions})` : ''}`)
  }
  io.out(lines.join('\n') + '\n')
  return entries
}

/** `ls --versions PATH`: one line per stored version, oldest first; `get --version N` restores one. */
async function runLsVersions (path: string | undefined, options: LsOptions, io: CliIo): Promise<CatalogueEntry[]> {
  if (path === undefined) throw new InvalidInputError('ls --versions needs a PATH: the file or directory whose versions to list')
  const versions = await callDaemon<StoredVersion[]>(options.dataDir, io, 'POST', '/v1/versions', { ref: path }, { timeoutMs: 120_000 })
  if (options.json === true) {
    io.out(JSON.stringify(versions, null, 2) + '\n')
    return versions.flatMap((v) => v.entries)
  }
  const lines = ['VERSION  STORED' + ' '.repeat(17) + 'FILES' + 'SIZE'.padStart(12) + '  ID']
  for (const v of versions) {
    const files = v.entries.filter((e) => e.kind === 'file')
    const stored = v.storedAt === undefined ? '-'.padEnd(21) : formatLocalTime(v.storedAt)
    lines.push(`${String(v.version).padStart(7)}  ${stored}  ${String(files.length).padStart(5)}${formatSize(files.reduce((n, e) => n + e.size, 0)).padStart(12)}  ${idOf(v.top)}`)
  }
  io.out(lines.join('\n') + '\n')
  return versions.flatMap((v) => v.entries)
}

/** The bytes below every directory, keyed `group id/name`, in one pass over the files. */
function treeSizes (entries: CatalogueEntry[]): Map<string, number> {
  const sizes = new Map<string, number>()
  for (const e of entries) {
    if (e.kind !== 'file') continue
    for (let slash = e.name.indexOf('/'); slash !== -1; slash = e.name.indexOf('/', slash + 1)) {
      const key = `${e.group?.id ?? ''}/${e.name.slice(0, slash)}`
      sizes.set(key, (sizes.get(key) ?? 0) + e.size)
    }
  }
  return sizes
}

function isChild (entry: CatalogueEntry, dir: CatalogueEntry): boolean {
  return entry.group?.id === dir.group?.id && entry.name.startsWith(dir.name + '/') && !entry.name.slice(dir.name.length + 1).includes('/')
}

/** What `GET /v1/files` adds to an entry once an audit round has read its manifest. */
type Listed = CatalogueEntry & { health?: FileHealth, durability?: FileDurability }

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
    .option('--json', 'print the catalogue entries (those below PATH, if given) as JSON')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(async (path: string | undefined, options: LsOptions) => { await runLs(path, options, io) })
}
