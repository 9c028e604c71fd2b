import { readdir, readlink, unlink } from 'node:fs/promises'
import { basename, dirname } from 'node:path'
import type { Stats } from 'node:fs'
import type { CatalogueEntry } from '../../domain/formats/catalogue.ts'
import { fileWeight, inFileWindow } from './file-window.ts'
import type { OutputTree } from './output-tree.ts'
import { OutputExistsError, partialOf } from './partial-file.ts'

/** What `get` does with a file that exists at its output path. */
export type ExistingPolicy = 'refuse' | 'skip' | 'overwrite'

/**
 * One thing a restore writes, at `rel` below the output tree ('' = the base itself);
 * `name` is its name in the catalogue or listing, for progress and reports.
 */
export interface RestoreItem extends Pick<CatalogueEntry, 'name' | 'kind' | 'size' | 'mode' | 'mtimeMs' | 'target'> {
  rel: string
}

export interface RestoreReport {
  /** Paths written (files and links), in the items' order. */
  written: string[]
  /** Paths kept because they already held the same content (`--skip-existing`). */
  skipped: string[]
  files: number
  links: number
  directories: number
  /** Bytes fetched (not those of skipped files). */
  bytes: number
  /** Temporaries of an interrupted restore deleted (skip and overwrite only). */
  leftovers: number
}

export interface RestoreSteps<T extends RestoreItem> {
  /** Fetches one file to `output`; `replace` says whether it may replace what is there. */
  fetch: (item: T, output: string, replace: boolean) => Promise<void>
  /** Whether an existing file holds the item's content already (`--skip-existing`). */
  same: (item: T, path: string, info: Stats) => Promise<boolean>
  /** Mode bits a directory may be given (a sharer's word stops at permission bits). */
  directoryModeMask: number
}

/**
 * Restores `items` into `tree`: the directories first (each checked or created, never
 * through a link), then under `policy` what exists already is refused before anything
 * is fetched, kept when it matches, or replaced; then the files (a few at once) and the
 * links; then the directories' modes and times, deepest first, since writing inside
 * changed them.
 */
export async function restoreItems<T extends RestoreItem> (tree: OutputTree, items: T[], policy: ExistingPolicy, steps: RestoreSteps<T>): Promise<RestoreReport> {
  const directories = items.filter((i) => i.kind === 'directory')
  for (const d of directories) await tree.directory(d.rel)
  const leaves = items.filter((i) => i.kind !== 'directory')
  for (const leaf of leaves) await tree.directory(parentOf(leaf.rel))

  const skipped = new Set<T>()
  const conflicts: string[] = []
  for (const leaf of leaves) {
    const info = await tree.existing(leaf.rel)
    if (info === undefined || policy === 'overwrite') continue
    if (policy === 'skip' && await matches(leaf, tree.at(leaf.rel), info, steps)) skipped.add(leaf)
    else conflicts.push(tree.at(leaf.rel))
  }
  if (conflicts.length > 0) {
    const shown = conflicts.slice(0, 5).join(', ') + (conflicts.length > 5 ? ` and ${conflicts.length - 5} more` : '')
    const hint = policy === 'skip' ? 'they differ from the stored files; use --overwrite to replace them' : 'choose another output with -o, or use --skip-existing or --overwrite'
    throw new OutputExistsError(`${conflicts.length} output path(s) exist already: ${shown}; ${hint}`)
  }

  const replace = policy === 'overwrite'
  const todo = leaves.filter((l) => !skipped.has(l))
  // resuming or overwriting: what a crashed restore left beside the files it was writing goes
  const leftovers = policy === 'refuse' ? 0 : await removeLeftovers(tree, leaves)
  await inFileWindow(todo.filter((l) => l.kind === 'file'), (file) => fileWeight(file.size), async (file) => steps.fetch(file, tree.at(file.rel), replace))
  for (const link of todo.filter((l) => l.kind === 'symlink')) await tree.link(link.rel, link.target!, link.mtimeMs, replace)
  for (const d of directories.slice().sort((a, b) => depth(b.rel) - depth(a.rel))) {
    await tree.finishDirectory(d.rel, d.mode & steps.directoryModeMask, d.mtimeMs)
  }
  return {
    written: todo.map((l) => tree.at(l.rel)),
    skipped: [...skipped].map((l) => tree.at(l.rel)),
    files: todo.filter((l) => l.kind === 'file').length,
    links: todo.filter((l) => l.kind === 'symlink').length,
    directories: directories.length,
    bytes: todo.reduce((n, l) => n + (l.kind === 'file' ? l.size : 0), 0),
    leftovers
  }
}

/**
 * Deletes temporaries of an earlier restore: regular files named like PartialFile's for
 * a file this restore writes in the same directory, and not themselves a file of it.
 */
async function removeLeftovers (tree: OutputTree, leaves: RestoreItem[]): Promise<number> {
  const byDirectory = new Map<string, Set<string>>()
  for (const leaf of leaves) {
    const dir = parentOf(leaf.rel)
    byDirectory.set(dir, (byDirectory.get(dir) ?? new Set()).add(basename(leaf.rel)))
  }
  let removed = 0
  for (const [dir, names] of byDirectory) {
    for (const name of await readdir(tree.at(dir))) {
      const of = partialOf(name)
      if (of === undefined || !names.has(of) || names.has(name)) continue
      const rel = dir === '' ? name : `${dir}/${name}`
      if ((await tree.existing(rel))?.isFile() !== true) continue
      await unlink(tree.at(rel))
      removed++
    }
  }
  return removed
}

async function matches<T extends RestoreItem> (item: T, path: string, info: Stats, steps: RestoreSteps<T>): Promise<boolean> {
  if (item.kind === 'symlink') return info.isSymbolicLink() && await readlink(path) === item.target
  return info.isFile() && info.size === item.size && await steps.same(item, path, info)
}

function parentOf (rel: string): string {
  const parent = dirname(rel)
  return parent === '.' ? '' : parent
}

function depth (rel: string): number {
  return rel === '' ? 0 : rel.split('/').length
}
