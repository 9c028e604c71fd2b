import { lstat, opendir } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { newCatalogueGroup, type CatalogueEntry, type CatalogueGroup } from '../../domain/formats/catalogue.ts'
import { InvalidInputError } from '../../errors.ts'

/** One thing `put` stores: a file, or a directory entry that keeps the tree's shape. */
export interface InputItem extends Pick<CatalogueEntry, 'name' | 'kind' | 'size' | 'mode' | 'mtimeMs' | 'group'> {
  /** Where it is on this machine. */
  path: string
}

/** What one command-line path expands to. */
export interface ExpandedInput {
  path: string
  group?: CatalogueGroup
  items: InputItem[]
}

/**
 * Expands `put` arguments: a file is itself; a directory is every file and directory
 * below it, named `<dir>/<relative path>` and sharing one group. Symbolic links and
 * special files are skipped (a storage system that follows links can loop or leak
 * files from outside the tree), and reported through `skipped`.
 */
export async function expandInputs (paths: string[], skipped: (path: string) => void): Promise<ExpandedInput[]> {
  const out: ExpandedInput[] = []
  for (const path of paths) {
    const info = await lstat(path).catch((err) => {
      throw new InvalidInputError(`cannot read ${path}: ${err?.code === 'ENOENT' ? 'no such file or directory' : err?.message}`, { cause: err })
    })
    if (info.isFile()) {
      out.push({ path, items: [{ path, name: basename(path), kind: 'file', size: info.size, mode: info.mode & 0o7777, mtimeMs: Math.floor(info.mtimeMs) }] })
    } else if (info.isDirectory()) {
      const group = newCatalogueGroup(basename(path))
      const items: InputItem[] = [{ path, name: group.root, kind: 'directory', size: 0, mode: info.mode & 0o7777, mtimeMs: Math.floor(info.mtimeMs), group }]
      await walk(path, group.root, group, items, skipped)
      out.push({ path, group, items })
    } else {
      throw new InvalidInputError(`${path} is neither a regular file nor a directory`)
    }
  }
  return out
}

async function walk (dir: string, name: string, group: CatalogueGroup, items: InputItem[], skipped: (path: string) => void): Promise<void> {
  const entries = []
  for await (const entry of await opendir(dir)) entries.push(entry.name)
  for (const entryName of entries.sort()) {
    const path = join(dir, entryName)
    const info = await lstat(path)
    const item = { path, name: `${name}/${entryName}`, size: info.size, mode: info.mode & 0o7777, mtimeMs: Math.floor(info.mtimeMs), group }
    if (info.isFile()) {
      items.push({ ...item, kind: 'file' })
    } else if (info.isDirectory()) {
      items.push({ ...item, kind: 'directory', size: 0 })
      await walk(path, item.name, group, items, skipped)
    } else {
      skipped(path)
    }
  }
}
