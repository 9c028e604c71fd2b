import type { Command } from 'commander'
import type { CatalogueEntry } from '../../domain/formats/catalogue.ts'
import { formatSize } from '../../domain/config/size.ts'
import type { CliIo } from '../io.ts'
import { callDaemon, DATA_DIR_HELP } from './daemon-call.ts'

export interface LsOptions {
  dataDir?: string
  json?: boolean
}

/** Lists the owner's catalogue: files and directories with their ids. */
export async function runLs (options: LsOptions, io: CliIo): Promise<CatalogueEntry[]> {
  const entries = await callDaemon<CatalogueEntry[]>(options.dataDir, io, 'GET', '/v1/files', undefined, { timeoutMs: 120_000 })
  if (options.json === true) {
    io.out(JSON.stringify(entries, null, 2) + '\n')
    return entries
  }
  if (entries.length === 0) {
    io.out('No files yet. Store some with `quloud put PATH`.\n')
    return entries
  }
  const lines = ['ID'.padEnd(32) + '  ' + 'SIZE'.padStart(10) + '  MODIFIED             NAME']
  const shownGroups = new Set<string>()
  for (const entry of [...entries].sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.group !== undefined && entry.kind === 'directory' && entry.name === entry.group.root && !shownGroups.has(entry.group.id)) {
      shownGroups.add(entry.group.id)
      const size = entries.filter((e) => e.group?.id === entry.group!.id).reduce((n, e) => n + e.size, 0)
      lines.push(`${entry.group.id}  ${formatSize(size).padStart(10)}  ${new Date(entry.mtimeMs).toISOString().slice(0, 19)}  ${entry.name}/`)
      continue
    }
    if (entry.kind === 'directory') continue
    lines.push(`${entry.fileId}  ${formatSize(entry.size).padStart(10)}  ${new Date(entry.mtimeMs).toISOString().slice(0, 19)}  ${entry.name}`)
  }
  io.out(lines.join('\n') + '\n')
  return entries
}

export function registerLs (program: Command, io: CliIo): void {
  program.command('ls')
    .description('list your stored files and directories (directories by their group id)')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .option('--json', 'print the catalogue entries as JSON')
    .action(async (options: LsOptions) => { await runLs(options, io) })
}
