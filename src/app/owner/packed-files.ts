import { ownerFileCapabilities } from '../../domain/capabilities/file-capabilities.ts'
import { contentKey } from '../../domain/crypto/key-derivation.ts'
import { OwnerChunkCipher } from '../../domain/crypto/owner-layer.ts'
import { isPacked, type CatalogueEntry, type ManifestPieceRef } from '../../domain/formats/catalogue.ts'
import { parseFileId } from '../../domain/formats/file-id.ts'

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

/**
 * The packed file `entry`'s sealed chunk `sealed` (cut from its pack) sealed again under
 * a fresh nonce, to be stored alone: a new chunk id, which no other operation taking the
 * same file out of its pack can also store and commit, so undoing one never deletes
 * what another named (and a holder cannot find the stored copy inside the pack).
 */
export function resealedAlone (master: Uint8Array, entry: CatalogueEntry, sealed: Uint8Array): Uint8Array {
  const fileId = parseFileId(entry.fileId)
  const cipher = new OwnerChunkCipher(contentKey(ownerFileCapabilities(master, fileId).read.readRoot), fileId)
  return cipher.seal(0, true, cipher.open(0, true, sealed))
}
