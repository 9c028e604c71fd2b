import type { Stats } from 'node:fs'
import { lstatSync } from 'node:fs'
import { readdir, readlink, stat } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { newCatalogueGroup, type CatalogueEntry, type CatalogueGroup } from '../../domain/formats/catalogue.ts'
import { naturalCompare } from '../../domain/formats/natural-sort.ts'
import { linkTargetProblem } from '../../domain/formats/relative-path.ts'
import { InvalidInputError } from '../../errors.ts'

/** One thing `put` stores: a file, a link, or a directory entry that keeps the tree's shape. */
export interface InputItem extends Pick<CatalogueEntry, 'name' | 'kind' | 'size' | 'mode' | 'mtimeMs' | 'group' | 'target'> {
  /** Where it is on this machine. */
  path: string
  /** Files: "<device>:<inode>:<change time ms>" as found, what its stat stamp is of (content-hash.ts). */
  identity?: string
}

/** What a tree held that a catalogue cannot: sockets, fifos, devices, unreadable links. */
export interface SkippedInput {
  path: string
  kind: 'socket' | 'fifo' | 'character device' | 'block device' | 'unreadable link' | 'unknown'
}

/** What one command-line path expands to. */
export interface ExpandedInput {
  path: string
  group?: CatalogueGroup
  items: InputItem[]
  skipped: SkippedInput[]
}

/**
 * Expands `put` arguments: a file is itself; a directory is every file, link and
 * directory below it, named `<dir>/<relative path>` and sharing one group. An argument
 * that is a link is followed (the user named it); a link inside a tree is stored as a
 * link, never followed (following can loop, or take in files from outside the tree).
 * Special files cannot be stored and are returned in `skipped` for the command to report.
 */
export async function expandInputs (paths: string[]): Promise<ExpandedInput[]> {
  const out: ExpandedInput[] = []
  for (const path of paths) {
    const info = await stat(path).catch((err) => {
      throw new InvalidInputError(`cannot read ${path}: ${err?.code === 'ENOENT' ? 'no such file or directory' : err?.message}`, { cause: err })
    })
    if (info.isFile()) {
      out.push({ path, items: [{ path, name: basename(path), kind: 'file', size: info.size, mode: info.mode & 0o7777, mtimeMs: Math.floor(info.mtimeMs), identity: identityOf(info) }], skipped: [] })
    } else if (info.isDirectory()) {
      const group = newCatalogueGroup(basename(path))
      const items: InputItem[] = [{ path, name: group.root, kind: 'directory', size: 0, mode: info.mode & 0o7777, mtimeMs: Math.floor(info.mtimeMs), group }]
      const skipped: SkippedInput[] = []
      await walk(path, group.root, group, items, skipped)
      out.push({ path, group, items, skipped })
    } else {
      throw new InvalidInputError(`${path} is a ${specialKind(info)}, neither a regular file nor a directory`)
    }
  }
  return out
}

async function walk (dir: string, name: string, group: CatalogueGroup, items: InputItem[], skipped: SkippedInput[], slice = new TimeSlice()): Promise<void> {
  // listed through the thread pool: one call per directory, and a huge one is not one long block
  const names = (await readdir(dir)).sort(naturalCompare)
  for (const entryName of names) {
    await slice.yieldIfDue()
    const path = join(dir, entryName)
    const info = lstatSync(path)
    const item = { path, name: `${name}/${entryName}`, size: info.size, mode: info.mode & 0o7777, mtimeMs: Math.floor(info.mtimeMs), group }
    if (info.isFile()) {
      items.push({ ...item, kind: 'file', identity: identityOf(info) })
    } else if (info.isDirectory()) {
      items.push({ ...item, kind: 'directory', size: 0 })
      await walk(path, item.name, group, items, skipped, slice)
    } else if (info.isSymbolicLink()) {
      const target = await readlink(path).catch(() => undefined)
      if (target === undefined || linkTargetProblem(target) !== undefined) skipped.push({ path, kind: 'unreadable link' })
      else items.push({ ...item, kind: 'symlink', size: 0, target })
    } else {
      skipped.push({ path, kind: specialKind(info) })
    }
  }
}

/**
 * The walk lists and stats synchronously, giving the event loop back every
 * WALK_SLICE_MS: a stat through the thread pool costs ~10 µs of this thread's time in
 * promises and callbacks against ~2 µs for the call itself, and a re-put of 2,000
 * unchanged files spent 40-65 ms walking, a fifth of its time. A cold disk makes one
 * stat slow, never a slice longer than that stat.
 */
class TimeSlice {
  private since = performance.now()

  async yieldIfDue (): Promise<void> {
    if (performance.now() - this.since < WALK_SLICE_MS) return
    await new Promise((resolve) => setImmediate(resolve))
    this.since = performance.now()
  }
}

const WALK_SLICE_MS = 4

function identityOf (info: Stats): string {
  return `${info.dev}:${info.ino}:${info.ctimeMs}`
}

function specialKind (info: Stats): SkippedInput['kind'] {
  if (info.isSocket()) return 'socket'
  if (info.isFIFO()) return 'fifo'
  if (info.isCharacterDevice()) return 'character device'
  if (info.isBlockDevice()) return 'block device'
  return 'unknown'
}
