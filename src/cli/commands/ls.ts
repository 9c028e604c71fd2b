import type { Command } from 'commander'
import type { CatalogueEntry } from '../../domain/formats/catalogue.ts'
import { idOf, resolveReference, selectionOf } from '../../domain/formats/catalogue-paths.ts'
import { naturalCompare } from '../../domain/formats/natural-sort.ts'
import { formatSize } from '../../domain/config/size.ts'
import { printable } from '../../util/control-characters.ts'
import type { CliIo } from '../io.ts'
import { formatLocalTime } from '../summary.ts'
import { callDaemon, DATA_DIR_HELP } from './daemon-call.ts'

export interface LsOptions {
  dataDir?: string
  json?: boolean
  /** Every entry below, not only the first level. */
  tree?: boolean
}

/**
 * Lists the owner's catalogue: by default the first level, each directory collapsed to
 * one line with the size of everything below it; `PATH` (anything `ls` prints) lists
 * that directory's first level, or that file; `--tree` everything below. Every name
 * printed is an argument `get`, `share`, `rm` and `ls` accept, and so is every id.
 */
export async function runLs (path: string | undefined, options: LsOptions, io: CliIo): Promise<CatalogueEntry[]> {
  const all = await callDaemon<CatalogueEntry[]>(options.dataDir, io, 'GET', '/v1/files', undefined, { timeoutMs: 120_000 })
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
  const shown = selection === undefined
    ? (options.tree === true ? all : all.filter((e) => e.group === undefined || e.name === e.group.root))
    : selection.top.kind !== 'directory'
      ? [selection.top]
      : options.tree === true ? entries : entries.filter((e) => e === selection.top || isChild(e, selection.top))
  const lines = ['ID'.padEnd(32) + '  ' + 'SIZE'.padStart(10) + '  MODIFIED' + ' '.repeat(15) + 'NAME']
  for (const entry of shown.slice().sort((a, b) => naturalCompare(a.name, b.name))) {
    // with --tree each line is its own entry; collapsed, a directory stands for its tree
    const size = entry.kind === 'directory' ? selectionOf(all, entry).entries.reduce((n, e) => n + e.size, 0) : entry.size
    lines.push(`${idOf(entry)}  ${formatSize(size).padStart(10)}  ${formatLocalTime(entry.mtimeMs)}  ${nameOf(entry)}`)
  }
  io.out(lines.join('\n') + '\n')
  return entries
}

function isChild (entry: CatalogueEntry, dir: CatalogueEntry): boolean {
  return entry.group?.id === dir.group?.id && entry.name.startsWith(dir.name + '/') && !entry.name.slice(dir.name.length + 1).includes('/')
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
    .option('--json', 'print the catalogue entries (those below PATH, if given) as JSON')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(async (path: string | undefined, options: LsOptions) => { await runLs(path, options, io) })
}
