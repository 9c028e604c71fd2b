import type { CatalogueEntry } from '../../domain/formats/catalogue.ts'
import { selectionOf } from '../../domain/formats/catalogue-paths.ts'
import type { AbortOptions } from '../../ports/abort-options.ts'
import type { CatalogueService } from './catalogue-service.ts'
import { fileWeight, inFileWindow } from './file-window.ts'
import { PeerSessions } from './peer-sessions.ts'
import type { OwnerDeps } from './put-file.ts'
import { packsNamedBy } from './packed-files.ts'
import { removeFile, type RemovalReport } from './remove-file.ts'
import { repackPacks } from './repack.ts'
import { deleteTreeListings, storeTreeListing } from './tree-share.ts'

/** `rm`'s and `forget`'s progress: files whose holders have all answered. */
export interface RemovalProgress {
  name: string
  filesDone: number
  filesTotal: number
}

export interface Removal {
  /** The catalogue's entries now. */
  all: CatalogueEntry[]
  /** What goes. */
  doomed: CatalogueEntry[]
  /** The tops of what goes: shared directories above them get a new listing. */
  tops: CatalogueEntry[]
  now: (() => number) | undefined
}

/**
 * Removes `doomed` from the catalogue and deletes, on every holder, each of its files
 * that no other entry still holds (a file kept unchanged by another version stays).
 * Listings of shared directories among them are deleted, and those of shared
 * directories above `tops` stored again without them.
 */
export async function removeEntries (deps: OwnerDeps, catalogue: CatalogueService, removal: Removal, options?: AbortOptions, progress?: (p: RemovalProgress) => void): Promise<RemovalReport[]> {
  const { all, doomed, tops } = removal
  const gone = new Set(doomed.map(entryKey))
  const stillHeld = new Set(all.filter((e) => !gone.has(entryKey(e))).map((e) => e.fileId))
  const files = [...new Map(doomed.filter((e) => e.kind === 'file' && !stillHeld.has(e.fileId)).map((e) => [e.fileId, e])).values()]
  const livePacks = packsNamedBy(all.filter((e) => !gone.has(entryKey(e))))
  const endingPacks = new Set([...packsNamedBy(files)].filter((id) => !livePacks.has(id)))
  const sessions = new PeerSessions(deps.federation, options)
  try {
    let filesDone = 0
    const reports = await inFileWindow(files, (entry) => fileWeight(entry.size), async (entry) => {
      const report = await removeFile(deps, entry, { ...options, sessions, endingPacks })
      progress?.({ name: entry.name, filesDone: ++filesDone, filesTotal: files.length })
      return report
    })
    // a shared tree's listing names everything in it: it goes with the tree
    for (const shared of doomed.filter((e) => e.kind === 'directory' && (e.shares?.length ?? 0) > 0)) await deleteTreeListings(deps, sessions, shared)
    const next = await catalogue.update((current) => current.filter((e) => !gone.has(entryKey(e))), { ...options, sessions })
    // packs still named by other files hold the removed ones' slices: rewritten without them, so their space is freed now
    const repacked = await repackPacks(deps, catalogue, sessions, files.filter((e) => livePacks.has(e.chunks?.[0]?.pack?.id ?? '')))
    if (repacked.packs > 0) deps.log.info(`rewrote ${repacked.packs} pack(s) without the removed files: ${repacked.freedBytes} bytes freed per copy`)
    // deletes a holder missed go out once it answers (work-in-flight.ts)
    if (reports.some((r) => r.unreachable.length > 0)) deps.journal?.kick()
    for (const top of tops) await refreshSharedAbove(deps, sessions, next.entries, top, (removal.now ?? Date.now)())
    return reports
  } finally {
    await sessions.close()
  }
}

/**
 * Stores again the listing of every shared directory above `changed` (in its tree), so
 * each tree code keeps opening exactly what the tree now holds.
 */
export async function refreshSharedAbove (deps: OwnerDeps, sessions: PeerSessions, entries: CatalogueEntry[], changed: CatalogueEntry, revision: number): Promise<void> {
  const above = entries.filter((e) => e.kind === 'directory' && (e.shares?.length ?? 0) > 0 && e.group?.id === changed.group?.id && changed.name.startsWith(e.name + '/'))
  for (const dir of above) await storeTreeListing(deps, sessions, dir, selectionOf(entries, dir).entries, revision)
}

/** Unique within a catalogue: a file id repeats only across versions (catalogue-format.ts). */
function entryKey (e: CatalogueEntry): string {
  return `${e.fileId}/${e.group?.id ?? ''}/${e.version ?? 1}`
}
