import type { CatalogueEntry, CatalogueGroup } from '../../domain/formats/catalogue.ts'
import { nextVersion } from '../../domain/formats/catalogue-paths.ts'
import { hashFile } from './file-content-hash.ts'
import { statStamp } from '../../domain/formats/content-hash.ts'
import type { ExpandedInput, InputItem } from './input-paths.ts'

/**
 * A `put` of a name that is stored already makes its next version (a snapshot, for a
 * directory), and a file unchanged since the newest version is not sent again: its entry
 * (same file id, manifest and chunks) is kept in the new version too. Unchanged means
 * the same size, mode and modification time and the same keyed content hash, read here
 * on the owner's disk; storage nodes learn nothing from it. A file whose device, inode
 * and change time are those of the last put (its stat stamp) is not read again. A file stored on fewer
 * holders than the new put asks for is sent again, so asking for more copies gets them.
 */
export interface PreviousVersion {
  /**
   * The newest version's entry for `item`, carried into the new version, when its stat
   * stamp says the file was not written since: decided without reading it. Undefined
   * when `unchanged` must decide.
   */
  keptUnread: (item: InputItem) => CatalogueEntry | undefined
  /**
   * The newest version's entry for `item`, carried into the new version, when the file
   * did not change; reads it when its stamp differs, by `contentHash` when given (a
   * caller that keeps the bytes it read to store them if they changed).
   */
  unchanged: (item: InputItem, signal?: AbortSignal, contentHash?: () => Promise<string>) => Promise<CatalogueEntry | undefined>
}

/** What the newest stored version of `input`'s name holds, for `put` to keep what did not change. */
export function previousVersion (current: CatalogueEntry[], input: ExpandedInput, key: Uint8Array, copiesFor: (size: number) => number): PreviousVersion {
  const name = input.group?.root ?? input.items[0]!.name
  const { newest } = nextVersion(current, input.group === undefined ? 'file' : 'directory', name)
  const files = new Map((newest?.entries ?? []).filter((e) => e.kind === 'file').map((e) => [e.name, e]))
  /** The old entry `item` may be kept as, and the item's stamp; undefined when it changed by size, mode, time or copies. */
  const candidate = (item: InputItem): { old: CatalogueEntry, stamp?: string } | undefined => {
    const old = files.get(item.name)
    if (old === undefined || old.contentHash === undefined || old.size !== item.size || old.mode !== item.mode || old.mtimeMs !== item.mtimeMs) return undefined
    // the manifest's holders are those that kept every chunk (or shard) of the file, a
    // batched file's chunks name theirs; a file kept on fewer than this put would ask for is stored again
    if (fewestHolders(old.manifest ?? old.chunks ?? []) < copiesFor(item.size)) return undefined
    return item.identity === undefined ? { old } : { old, stamp: statStamp(key, item.identity) }
  }
  const keep = (item: InputItem, old: CatalogueEntry, stamp: string | undefined): CatalogueEntry => {
    // without `delete`, which turns each of thousands of entries into a slow dictionary object
    const { version: _version, storedAt: _storedAt, ...kept } = old
    if (item.group !== undefined) kept.group = item.group
    if (stamp !== undefined) kept.statStamp = stamp
    return kept
  }
  return {
    keptUnread: (item) => {
      const found = candidate(item)
      // the same device, inode and change time as at the last put: not written since, not read again
      return found?.stamp !== undefined && found.stamp === found.old.statStamp ? keep(item, found.old, found.stamp) : undefined
    },
    unchanged: async (item, signal, contentHash) => {
      const found = candidate(item)
      if (found === undefined) return undefined
      const { old, stamp } = found
      if ((stamp === undefined || stamp !== old.statStamp) && await (contentHash?.() ?? hashFile(item.path, key, signal, item.size)) !== old.contentHash) return undefined
      return keep(item, old, stamp)
    }
  }
}

/**
 * `stored` (one command's new entries) numbered after what `current` holds: each new
 * group, and each new file put alone, gets the next version of its name and the time;
 * the first version of a name stays unnumbered (1). Done when the catalogue changes, so
 * two commands racing for one name still get distinct numbers.
 */
export function stampVersions (current: CatalogueEntry[], stored: CatalogueEntry[], now: number): CatalogueEntry[] {
  const seen = [...current]
  const groups = new Map<string, CatalogueGroup>()
  const out: CatalogueEntry[] = []
  for (const entry of stored) {
    if (entry.group !== undefined) {
      let group = groups.get(entry.group.id)
      if (group === undefined) {
        const { version } = nextVersion(seen, 'directory', entry.group.root)
        group = { id: entry.group.id, root: entry.group.root, ...(version > 1 ? { version } : {}), storedAt: now }
        groups.set(group.id, group)
      }
      const stamped = { ...entry, group }
      out.push(stamped)
      seen.push(stamped)
    } else {
      const { version } = nextVersion(seen, 'file', entry.name)
      const stamped = { ...entry, ...(version > 1 ? { version } : {}), storedAt: now }
      out.push(stamped)
      seen.push(stamped)
    }
  }
  return out
}

/** The fewest holders any of `refs` names (Infinity for none), without an array per file of a re-put. */
function fewestHolders (refs: ReadonlyArray<{ holders: readonly string[] }>): number {
  let fewest = Infinity
  for (const ref of refs) fewest = Math.min(fewest, ref.holders.length)
  return fewest
}
