import { isPacked, type CatalogueEntry, type ManifestPieceRef } from '../../domain/formats/catalogue.ts'

/**
 * What the owner keeps stored for a file's data, as the catalogue names it: a packed
 * file (pack.ts) keeps its pack, whose id is not its chunk's, on its chunk's holders;
 * any other batched file its chunks. Renewals, undo and rm keep or end these ids: a
 * packed chunk's own id is stored nowhere.
 */
export function storedDataOf (entry: CatalogueEntry): ManifestPieceRef[] {
  return (entry.chunks ?? []).map((chunk) => chunk.pack === undefined ? chunk : { id: chunk.pack.id, holders: chunk.holders })
}

/** The packs `entries` name: a pack is live while one of them does. */
export function packsNamedBy (entries: readonly CatalogueEntry[]): Set<string> {
  return new Set(entries.filter(isPacked).map((e) => e.chunks![0]!.pack!.id))
}
