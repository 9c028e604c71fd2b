import { ownerFileCapabilities } from '../../domain/capabilities/file-capabilities.ts'
import { isPacked, type CatalogueEntry } from '../../domain/formats/catalogue.ts'
import { CHUNK_SIZE } from '../../domain/formats/chunker.ts'
import { parseFileId } from '../../domain/formats/file-id.ts'
import { MANIFEST_VERSION, type Manifest } from '../../domain/formats/manifest.ts'
import { batchOf } from './batches.ts'
import { inFileWindow } from './file-window.ts'
import type { PeerSessions } from './peer-sessions.ts'
import { storePieces } from './federation-pieces.ts'
import { PackReads } from './pack-reads.ts'
import { resealedAlone } from './packed-files.ts'
import { chunkIdOf } from '../../domain/formats/chunk-id.ts'
import { fileKeysOf, manifestOf, NoStorageNodesError, storeManifest, type OwnerDeps } from './put-file.ts'
import type { PutJournal } from './work-in-flight.ts'

/**
 * A batched file stores no manifest when it is put (catalogue version 4): its entry
 * names its chunks and holders, which is what the owner reads, deletes, renews and
 * audits it by. A manifest is what a share code opens, so the first share of the file
 * (or of a tree it is in) stores one, made from the entry. Storage nodes see a manifest
 * piece appear when a file is shared, as they saw one at put before; nothing more.
 */

/** Whether `entry` is a batched file with no manifest stored yet. */
export function lacksManifest (entry: CatalogueEntry): boolean {
  return entry.kind === 'file' && entry.manifest === undefined && entry.batch !== undefined && entry.chunks !== undefined
}

/**
 * The manifest `entry` (a batched file) implies: revision 1, its chunks (each
 * CHUNK_SIZE but the last) and holders, the batch's read secret and delete commitment,
 * signed by the file's own write key when sealed. It carries no receipts: they were
 * checked when the chunks were stored and are kept by the receipt ledger.
 */
export function impliedManifest (master: Uint8Array, entry: CatalogueEntry): Manifest {
  const chunks = entry.chunks ?? []
  const fileId = parseFileId(entry.fileId)
  const batch = batchOf(master, entry.batch!)
  const manifest = manifestOf({ path: '', name: entry.name, size: entry.size, mode: entry.mode, mtimeMs: entry.mtimeMs, replicas: 1 }, fileId, fileKeysOf(ownerFileCapabilities(master, fileId), batch), {
    version: MANIFEST_VERSION,
    size: entry.size,
    chunkSize: CHUNK_SIZE,
    chunks: chunks.map((c, i) => ({ id: c.id, size: i < chunks.length - 1 ? CHUNK_SIZE : entry.size - i * CHUNK_SIZE })),
    holders: chunks.map((c) => [...c.holders]),
    receipts: []
  })
  manifest.dataSecret = batch.readSecret.toString(10)
  return manifest
}

/**
 * `entries` with a stored manifest for each batched file that had none (the files of a
 * share), in the same order; the others as they were. Manifests go to the holders of
 * the file's chunks (any reachable peer for an empty file), under the batch's delete
 * commitment, so an rm of the file deletes them with the batch's delete proof.
 */
export async function withManifests (deps: OwnerDeps, sessions: PeerSessions, entries: CatalogueEntry[], journal?: PutJournal): Promise<CatalogueEntry[]> {
  const fallback = async (): Promise<string[]> => (await deps.federation.candidates({ signal: sessions.signal })).filter((c) => c.reachable).map((c) => c.peerId).slice(0, 3)
  // a tree's share may store thousands: a file window's worth at a time, as a put sends them
  const packs = new PackReads(sessions)
  return inFileWindow(entries, () => 1, async (listed) => {
    if (!lacksManifest(listed)) return listed
    const entry = isPacked(listed) ? await unpacked(deps, sessions, packs, listed, journal) : listed
    const manifest = impliedManifest(deps.master, entry)
    const fileId = parseFileId(entry.fileId)
    const file = fileKeysOf(ownerFileCapabilities(deps.master, fileId), batchOf(deps.master, entry.batch!))
    const holders = [...new Set(manifest.holders.flat())]
    const placed = await storeManifest(deps, sessions, { path: '', name: entry.name, size: entry.size, mode: entry.mode, mtimeMs: entry.mtimeMs, replicas: 1, journal }, file, manifest,
      holders.length > 0 ? holders : await fallback())
    return { ...entry, manifest: placed.ids.map((id) => ({ id, holders: [...placed.holders.keys()] })) }
  })
}

/**
 * `entry` (a packed file) with its chunk sealed again and stored alone on its holders,
 * as a batched file's is (resealedAlone): a share code's holder then reads the file, not the whole pack, with any
 * client that reads a manifest, and the pack keeps the slice as dead bytes until it is
 * rewritten. Journaled before it is sent, so a share cut before the catalogue names
 * the chunk leaves nothing behind. NoStorageNodesError when no holder takes it.
 */
async function unpacked (deps: OwnerDeps, sessions: PeerSessions, packs: PackReads, entry: CatalogueEntry, journal?: PutJournal): Promise<CatalogueEntry> {
  const chunk = entry.chunks![0]!
  const batch = batchOf(deps.master, entry.batch!)
  const alone = resealedAlone(deps.master, entry, await packs.slice(chunk.pack!, chunk.id, chunk.holders, batch.readSecret))
  const id = chunkIdOf(alone)
  await journal?.manifest(entry.fileId, [id], { batch: batch.id, holders: chunk.holders })
  const placed = await storePieces(sessions, chunk.holders, [alone], batch.readSecret, batch.deleteCommitment, deps.log)
  if (placed.holders.size === 0) throw new NoStorageNodesError(`no holder of ${entry.name} took its chunk out of its pack`)
  return { ...entry, chunks: [{ id, holders: [...placed.holders.keys()] }] }
}
