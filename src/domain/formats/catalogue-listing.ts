import type { CatalogueEntry } from './catalogue.ts'
import { isTreeRoot, newestVersions, resolveReference, versionCounts } from './catalogue-paths.ts'

/** What `ls` asks for: inside `ref` (any path or id `ls` prints), or at the top; the first level, or with `tree` everything below. */
export interface ListingRequest {
  ref?: string
  tree?: boolean
}

/** An entry as `ls` shows it. */
export type ListedEntry = CatalogueEntry & {
  /** A directory: the bytes of every file below it. */
  bytesBelow?: number
  /** A directory: how many files are below it. */
  filesBelow?: number
  /** A tree's root or a file put alone, when its name has more than one stored version. */
  versions?: number
}

export interface Listing {
  /** What `ref` named (absent without one). */
  top?: CatalogueEntry
  /** What is listed, in the catalogue's order. */
  entries: ListedEntry[]
}

/**
 * The part of the catalogue `ls` shows, worked out where the catalogue is: without
 * `ref` the newest version of every name, each directory collapsed to one entry with the
 * size below it; with `ref` what it names, in its version (an old version's id lists
 * that snapshot). A catalogue keeps every version of a tree, so `ls` reading all of it
 * cost time and memory in proportion to the whole history: 16,088 entries (8 versions of
 * a 2,000-file tree) were sent and parsed to print one line.
 */
export function listCatalogue (all: CatalogueEntry[], request: ListingRequest = {}): Listing {
  const selection = request.ref === undefined ? undefined : resolveReference(all, request.ref)
  const scope = selection?.entries ?? newestVersions(all)
  const top = selection?.top
  const shown = top === undefined
    ? (request.tree === true ? scope : scope.filter((e) => e.group === undefined || isTreeRoot(e)))
    : request.tree === true || top.kind !== 'directory' ? scope : scope.filter((e) => e === top || isChild(e, top))
  const below = filesBelowDirectories(scope)
  const counts = versionCounts(all)
  const entries = shown.map((entry): ListedEntry => {
    const versions = entry.group === undefined || isTreeRoot(entry) ? counts(entry) : 1
    return {
      ...entry,
      ...(entry.kind === 'directory' ? below.get(directoryKey(entry.group?.id, entry.name)) ?? { bytesBelow: 0, filesBelow: 0 } : {}),
      ...(versions > 1 ? { versions } : {})
    }
  })
  return { ...(top === undefined ? {} : { top }), entries }
}

/** The files and their bytes below every directory, keyed by its group and name, in one pass over the files. */
function filesBelowDirectories (entries: readonly CatalogueEntry[]): Map<string, { bytesBelow: number, filesBelow: number }> {
  const below = new Map<string, { bytesBelow: number, filesBelow: number }>()
  for (const e of entries) {
    if (e.kind !== 'file') continue
    for (let slash = e.name.indexOf('/'); slash !== -1; slash = e.name.indexOf('/', slash + 1)) {
      const key = directoryKey(e.group?.id, e.name.slice(0, slash))
      const sum = below.get(key)
      if (sum === undefined) below.set(key, { bytesBelow: e.size, filesBelow: 1 })
      else {
        sum.bytesBelow += e.size
        sum.filesBelow++
      }
    }
  }
  return below
}

function directoryKey (group: string | undefined, name: string): string {
  return `${group ?? ''}/${name}`
}

function isChild (entry: CatalogueEntry, dir: CatalogueEntry): boolean {
  return entry.group?.id === dir.group?.id && entry.name.startsWith(dir.name + '/') && !entry.name.slice(dir.name.length + 1).includes('/')
}
