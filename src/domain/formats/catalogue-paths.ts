import { defineError, NotFoundError } from '../../errors.ts'
import type { CatalogueEntry } from './catalogue-format.ts'
import { naturalCompare } from './natural-sort.ts'

/**
 * What a command-line reference names in the owner's catalogue. Every path `ls` prints
 * is one: a file, a directory at any depth (with or without a trailing `/`), the id of
 * either, a group id (a whole `put` of a directory), or a unique prefix of an id of at
 * least MIN_ID_PREFIX hex digits. Exact ids win over names, names over prefixes, so a
 * file called `deadbeef` stays reachable by name.
 *
 * A `put` of a name that exists makes a new version of it (a snapshot, for a
 * directory): what a reference names is then taken from the newest version of its
 * lineage, or from the version asked for.
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

/** Which version a reference is resolved in: a number, the newest stored at or before a time, or (neither) the newest. */
export interface VersionChoice {
  version?: number
  /** Unix ms. */
  at?: number
}

/** One stored version of a name: a directory's snapshot or a file's. */
export interface StoredVersion {
  version: number
  /** Unix ms of its `put`, when recorded. */
  storedAt?: number
  /** The tree's root directory entry, or the file entry. */
  top: CatalogueEntry
  entries: CatalogueEntry[]
}

/**
 * A stored version as it is listed: its files counted, its entries only when asked
 * (for a file inside a tree they are the whole tree, once per version).
 */
export type VersionSummary = Omit<StoredVersion, 'entries'> & { files: number, bytes: number, entries?: CatalogueEntry[] }

export function summariseVersion (v: StoredVersion, withEntries: boolean): VersionSummary {
  let files = 0
  let bytes = 0
  for (const e of v.entries) {
    if (e.kind !== 'file') continue
    files++
    bytes += e.size
  }
  return { version: v.version, ...(v.storedAt === undefined ? {} : { storedAt: v.storedAt }), top: v.top, files, bytes, ...(withEntries ? { entries: v.entries } : {}) }
}

/**
 * The entries `ref` names (in its newest version, or `options.version`);
 * NotFoundError or AmbiguousNameError (listing the candidates) otherwise.
 */
export function resolveReference (entries: CatalogueEntry[], ref: string, options: VersionChoice = {}): Selection {
  const wanted = normaliseReference(ref)
  const byId = exactIds(entries, wanted)
  const byName = byId === undefined ? named(entries, wanted) : undefined
  const found = unique(byId ?? byName ?? prefixed(entries, wanted) ?? [])
  if (found.length === 0) throw new NotFoundError(`nothing named ${JSON.stringify(ref)} in the catalogue (see \`quloud ls\`)`)
  const candidates = inVersion(entries, found, ref, options, byName !== undefined)
  if (candidates.length > 1) {
    const listed = candidates.slice().sort((a, b) => naturalCompare(a.name, b.name)).slice(0, LISTED_CANDIDATES)
      .map((e) => `  ${idOf(e)}  ${e.name}${e.kind === 'directory' ? '/' : ''}`)
    const more = candidates.length > LISTED_CANDIDATES ? `\n  … and ${candidates.length - LISTED_CANDIDATES} more` : ''
    throw new AmbiguousNameError(`${JSON.stringify(ref)} names ${candidates.length} entries; use one of their ids:\n${listed.join('\n')}${more}`)
  }
  return selectionOf(entries, candidates[0]!)
}

/** Every stored version of the name `ref` resolves to, oldest first. */
export function versionsOf (entries: CatalogueEntry[], ref: string): StoredVersion[] {
  const { top } = resolveReference(entries, ref)
  const key = lineageOf(top)
  const tops = entries.filter((e) => lineageOf(e) === key && (e.group === undefined || isTreeRoot(e)))
  return tops.map((t) => ({ version: versionOf(t), ...storedAtOf(t), top: t, entries: selectionOf(entries, t).entries }))
    .sort((a, b) => a.version - b.version)
}

/**
 * What a `put` of a file or of a directory named `name` continues: the lineage's newest
 * version, and the number the new one gets.
 */
export function nextVersion (entries: CatalogueEntry[], kind: 'file' | 'directory', name: string): { newest?: StoredVersion, version: number } {
  // lineageOf(e) === `tree:${name}` or `file:${name}`, without a string per entry of every version
  const tops = entries.filter((e) => e.group !== undefined
    ? kind === 'directory' && e.group.root === name && isTreeRoot(e)
    : kind === 'file' && e.name === name && e.kind === 'file')
  if (tops.length === 0) return { version: 1 }
  const top = tops.reduce((a, b) => versionOf(b) >= versionOf(a) ? b : a)
  return { newest: { version: versionOf(top), ...storedAtOf(top), top, entries: selectionOf(entries, top).entries }, version: versionOf(top) + 1 }
}

/** The entries of every name's newest version: what `ls` shows (older ones with --versions). */
export function newestVersions (entries: CatalogueEntry[]): CatalogueEntry[] {
  const newest = new Map<string, number>()
  for (const e of entries) newest.set(lineageOf(e), Math.max(newest.get(lineageOf(e)) ?? 0, versionOf(e)))
  return entries.filter((e) => versionOf(e) === newest.get(lineageOf(e)))
}

/** How many versions the name of an entry has, counted once for the whole catalogue. */
export function versionCounts (entries: CatalogueEntry[]): (entry: CatalogueEntry) => number {
  const versions = new Map<string, Set<number>>()
  for (const e of entries) {
    const seen = versions.get(lineageOf(e))
    if (seen === undefined) versions.set(lineageOf(e), new Set([versionOf(e)]))
    else seen.add(versionOf(e))
  }
  return (entry) => versions.get(lineageOf(entry))?.size ?? 0
}

/** Which version of its name an entry belongs to: its group's, or its own (1 when unrecorded). */
export function versionOf (entry: CatalogueEntry): number {
  return entry.group !== undefined ? entry.group.version ?? 1 : entry.version ?? 1
}

/** Entries of one lineage are versions of one name: a directory's tree, or a file put alone. */
function lineageOf (entry: CatalogueEntry): string {
  return entry.group !== undefined ? `tree:${entry.group.root}` : `file:${entry.name}`
}

function storedAtOf (entry: CatalogueEntry): { storedAt?: number } {
  const at = entry.group !== undefined ? entry.group.storedAt : entry.storedAt
  return at === undefined ? {} : { storedAt: at }
}

/**
 * The candidates that are in the version asked for, else the newest: versions of one
 * name are not an ambiguity. By name the newest is the lineage's (a file deleted in
 * the newest snapshot is not found there); by id, the newest of the entries with that
 * id (an id names one snapshot, or one file kept unchanged in several). Candidates of
 * several lineages stay as they are.
 */
function inVersion (entries: CatalogueEntry[], found: CatalogueEntry[], ref: string, choice: VersionChoice, byName: boolean): CatalogueEntry[] {
  const lineages = new Set(found.map(lineageOf))
  if (lineages.size !== 1) return found
  const [key] = lineages
  const all = byName ? entries.filter((e) => lineageOf(e) === key) : found
  const at = choice.at
  const eligible = at === undefined ? all : all.filter((e) => (storedAtOf(e).storedAt ?? Infinity) <= at)
  if (eligible.length === 0) throw new NotFoundError(`no version of ${JSON.stringify(ref)} was stored by ${new Date(at!).toISOString()}`)
  // not Math.max(...): a name's history is every entry of every version, past what a call's arguments can hold
  const wanted = choice.version ?? eligible.reduce((most, e) => Math.max(most, versionOf(e)), 0)
  const chosen = found.filter((e) => versionOf(e) === wanted)
  if (chosen.length === 0) {
    const present = [...new Set(found.map(versionOf))].sort((a, b) => a - b)
    throw new NotFoundError(`${JSON.stringify(ref)} is not in version ${wanted}; it is in version(s) ${present.join(', ')} (use --version N)`)
  }
  return chosen
}

/** `top` with everything below it in the same tree (the same group, or no group). */
export function selectionOf (entries: CatalogueEntry[], top: CatalogueEntry): Selection {
  if (top.kind !== 'directory') return { top, entries: [top] }
  const group = top.group?.id
  const prefix = top.name + '/'
  const below = entries.filter((e) => e !== top && e.group?.id === group && e.name.startsWith(prefix))
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
