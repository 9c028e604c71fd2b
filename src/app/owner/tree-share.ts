import { chmod, mkdir, utimes } from 'node:fs/promises'
import { join } from 'node:path'
import { ownerFileCapabilities, type OwnerFileCapabilities } from '../../domain/capabilities/file-capabilities.ts'
import { manifestSecret } from '../../domain/crypto/key-derivation.ts'
import type { CatalogueEntry } from '../../domain/formats/catalogue.ts'
import { parseFileId } from '../../domain/formats/file-id.ts'
import { sealTreeListing, type TreeListing } from '../../domain/formats/tree-listing.ts'
import { commitmentToDecimal, poseidonCommitment } from '../../domain/proofs/poseidon-commitment.ts'
import { deletePieces, gatherPieces, storePieces } from './federation-pieces.ts'
import { fetchFile } from './fetch-file.ts'
import { FILES_IN_FLIGHT, inParallel } from './in-parallel.ts'
import type { PeerSessions } from './peer-sessions.ts'
import { NoStorageNodesError, type OwnerDeps } from './put-file.ts'

/** Peers that keep a shared tree's listing, like the catalogue's copies. */
const LISTING_REPLICAS = 5

/** The directory entry a tree's capabilities derive from: the group's root directory. */
export function treeRootOf (entries: CatalogueEntry[]): CatalogueEntry | undefined {
  const group = entries[0]?.group
  if (group === undefined || !entries.every((e) => e.group?.id === group.id)) return undefined
  return entries.find((e) => e.kind === 'directory' && e.name === group.root)
}

/** The capabilities of the tree rooted at `root` (a directory entry). */
export function treeCapabilities (deps: OwnerDeps, root: CatalogueEntry): OwnerFileCapabilities {
  return ownerFileCapabilities(deps.master, parseFileId(root.fileId))
}

/**
 * Signs and stores the listing of a group's tree: each file with its read capability,
 * each directory with its mode. Stored on the most spacious live peers under the
 * tree's own read and delete commitments.
 */
export async function storeTreeListing (deps: OwnerDeps, sessions: PeerSessions, root: CatalogueEntry, entries: CatalogueEntry[], revision: number): Promise<void> {
  const caps = treeCapabilities(deps, root)
  const listing: TreeListing = {
    version: 2,
    kind: 'tree',
    treeId: root.fileId,
    revision,
    root: root.name,
    entries: entries.map((e) => e.kind === 'file'
      ? { name: e.name, kind: 'file' as const, size: e.size, mode: e.mode, mtimeMs: e.mtimeMs, read: ownerFileCapabilities(deps.master, parseFileId(e.fileId)).read }
      : { name: e.name, kind: 'directory' as const, mode: e.mode, mtimeMs: e.mtimeMs }),
    writer: Buffer.from(caps.write.publicKey).toString('hex')
  }
  const peers = (await deps.federation.candidates({ signal: sessions.signal })).filter((c) => c.reachable)
    .sort((a, b) => b.freeBytes - a.freeBytes).slice(0, LISTING_REPLICAS).map((c) => c.peerId)
  const placed = await storePieces(sessions, peers, sealTreeListing(listing, caps.read, caps.write), manifestSecret(caps.read.readRoot),
    commitmentToDecimal(poseidonCommitment(caps.deleteSecret)), deps.log)
  if (placed.holders.size === 0) throw new NoStorageNodesError(`no storage node kept the listing of ${root.name}; nothing was shared`)
}

/** Deletes every listing of the tree rooted at `root` that the federation's peers hold; the count deleted. */
export async function deleteTreeListings (deps: OwnerDeps, sessions: PeerSessions, root: CatalogueEntry): Promise<number> {
  const caps = treeCapabilities(deps, root)
  const peers = (await deps.federation.candidates({ signal: sessions.signal })).map((c) => c.peerId)
  const found = await gatherPieces(sessions, peers, manifestSecret(caps.read.readRoot), deps.log)
  let deleted = 0
  for (const [peer, ids] of found.holders) {
    deleted += await deletePieces(sessions, peer, ids, caps.deleteSecret).catch((err) => {
      deps.log.warn(`the old listing of ${root.name} stays on ${peer} for now: ${(err as Error).message}`)
      return 0
    })
  }
  return deleted
}

/**
 * Restores a shared tree under `base`: its directories, then every file fetched with
 * the read capability the listing gives it, then the directories' modes and times
 * (deepest first, as writing files changed them).
 */
export async function receiveTree (deps: OwnerDeps, sessions: PeerSessions, listing: TreeListing, base: string, onProgress: (name: string, bytes: number) => void): Promise<string[]> {
  const at = (name: string): string => join(base, name.slice(listing.root.length))
  const directories = listing.entries.filter((e) => e.kind === 'directory')
  await mkdir(base, { recursive: true, mode: 0o700 })
  for (const d of directories) await mkdir(at(d.name), { recursive: true })
  const files = listing.entries.filter((e) => e.kind === 'file')
  const written = await inParallel(files, FILES_IN_FLIGHT, async (file) => {
    await fetchFile(deps.federation, deps.log, { read: file.read, output: at(file.name), onProgress: (bytes) => onProgress(file.name, bytes), codec: deps.codec }, { sessions })
    return at(file.name)
  })
  for (const d of directories.sort((a, b) => b.name.length - a.name.length)) {
    // a sharer's modes are its word: permission bits only, never setuid, setgid or sticky
    await chmod(at(d.name), d.mode & 0o777)
    await utimes(at(d.name), new Date(), new Date(d.mtimeMs))
  }
  return written
}
