import { defineError, NotFoundError } from '../../errors.ts'
import type { CatalogueEntry } from './catalogue-format.ts'
import { naturalCompare } from './natural-sort.ts'

/**
 * What a command-line reference names in the owner's catalogue. Every path `ls` prints
 * is one: a file, a directory at any depth (with or without a trailing `/`), the id of
 * either, a group id (a whole `put` of a directory), or a unique prefix of an id of at
 * least MIN_ID_PREFIX hex digits. Exact ids win over names, names over prefixes, so a
 * file called `deadbeef` stays reachable by name.
 */

/** A reference names several entries: the message lists them so the user can pick an id. */
export const AmbiguousNameError = defineError('AmbiguousNameError', 'ambiguous-name')

/** Shorter prefixes would match by chance in a large catalogue. */
export const MIN_ID_PREFIX = 8

/** Candidates an ambiguity message lists before it says how many more there are. */
const LISTED_CANDIDATES = 10

export interface Selection {
  /** The file or directory the reference named. */
  top: CatalogueEntry
  /** `top` and, for a directory, everything below it in its tree. */
  entries: CatalogueEntry[]
}

/** The entries `ref` names; NotFoundError or AmbiguousNameError (listing the candidates) otherwise. */
export function resolveReference (entries: CatalogueEntry[], ref: string): Selection {
  const wanted = normaliseReference(ref)
  const candidates = unique(exactIds(entries, wanted) ?? named(entries, wanted) ?? prefixed(entries, wanted) ?? [])
  if (candidates.length === 0) throw new NotFoundError(`nothing named ${JSON.stringify(ref)} in the catalogue (see \`quloud ls\`)`)
  if (candidates.length > 1) {
    const listed = candidates.slice().sort((a, b) => naturalCompare(a.name, b.name)).slice(0, LISTED_CANDIDATES)
      .map((e) => `  ${idOf(e)}  ${e.name}${e.kind === 'directory' ? '/' : ''}`)
    const more = candidates.length > LISTED_CANDIDATES ? `\n  … and ${candidates.length - LISTED_CANDIDATES} more` : ''
    throw new AmbiguousNameError(`${JSON.stringify(ref)} names ${candidates.length} entries; use one of their ids:\n${listed.join('\n')}${more}`)
  }
  return selectionOf(entries, candidates[0]!)
}

/** `top` with everything below it in the same tree (the same group, or no group). */
export function selectionOf (entries: CatalogueEntry[], top: CatalogueEntry): Selection {
  if (top.kind !== 'directory') return { top, entries: [top] }
  const below = entries.filter((e) => e !== top && e.group?.id === top.group?.id && e.name.startsWith(top.name + '/'))
  return { top, entries: [top, ...below] }
}

/** The id `ls` shows for an entry: a tree's root by its group id, everything else by its own. */
export function idOf (entry: CatalogueEntry): string {
  return isTreeRoot(entry) ? entry.group!.id : entry.fileId
}

/** A group's root directory entry: what `put <dir>` made of `<dir>` itself. */
export function isTreeRoot (entry: CatalogueEntry): boolean {
  return entry.kind === 'directory' && entry.group !== undefined && entry.name === entry.group.root
}

/** `./a//b/` and `a/b` are one reference. */
export function normaliseReference (ref: string): string {
  return ref.split('/').filter((segment, i) => segment !== '' && !(segment === '.' && i === 0)).join('/')
}

function exactIds (entries: CatalogueEntry[], wanted: string): CatalogueEntry[] | undefined {
  const id = wanted.toLowerCase()
  if (!/^[0-9a-f]{32}$/.test(id)) return undefined
  const found = entries.filter((e) => e.fileId === id || (isTreeRoot(e) && e.group!.id === id))
  return found.length > 0 ? found : undefined
}

function named (entries: CatalogueEntry[], wanted: string): CatalogueEntry[] | undefined {
  const found = entries.filter((e) => e.name === wanted)
  return found.length > 0 ? found : undefined
}

function prefixed (entries: CatalogueEntry[], wanted: string): CatalogueEntry[] | undefined {
  const prefix = wanted.toLowerCase()
  if (!new RegExp(`^[0-9a-f]{${MIN_ID_PREFIX},31}$`).test(prefix)) return undefined
  return entries.filter((e) => e.fileId.startsWith(prefix) || (isTreeRoot(e) && e.group!.id.startsWith(prefix)))
}

function unique (entries: CatalogueEntry[]): CatalogueEntry[] {
  return [...new Set(entries)]
}
