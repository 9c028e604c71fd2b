import { ownerFileCapabilities, type OwnerFileCapabilities } from '../../domain/capabilities/file-capabilities.ts'
import { manifestSecret } from '../../domain/crypto/key-derivation.ts'
import type { CatalogueEntry } from '../../domain/formats/catalogue.ts'
import { parseFileId } from '../../domain/formats/file-id.ts'
import { lastSegment } from '../../domain/formats/relative-path.ts'
import { sealTreeListing, TREE_LISTING_VERSION, type TreeEntry, type TreeListing } from '../../domain/formats/tree-listing.ts'
import { commitmentToDecimal, poseidonCommitment } from '../../domain/proofs/poseidon-commitment.ts'
import { deletePieces, gatherPieces, storePieces } from './federation-pieces.ts'
import { fetchFile } from './fetch-file.ts'
import { OutputTree } from './output-tree.ts'
import { restoreItems, type RestoreReport } from './restore-items.ts'
import type { PeerSessions } from './peer-sessions.ts'
import { NoStorageNodesError, type OwnerDeps } from './put-file.ts'

/** Peers that keep a shared tree's listing, like the catalogue's copies. */
const LISTING_REPLICAS = 5

/** The capabilities of the tree rooted at `root` (a directory entry). */
export function treeCapabilities (deps: OwnerDeps, root: Pick<CatalogueEntry, 'fileId'>): OwnerFileCapabilities {
  return ownerFileCapabilities(deps.master, parseFileId(root.fileId))
}

/**
 * Signs and stores the listing of the tree under directory entry `root` (a put
 * directory or any directory inside one): each file with its read capability, each
 * directory with its mode, each link with its target, named from the directory's own
 * last segment down, so the receiver learns nothing of the owner's path above it.
 * Stored on the most spacious live peers under the tree's own read and delete commitments.
 */
export async function storeTreeListing (deps: OwnerDeps, sessions: PeerSessions, root: CatalogueEntry, entries: CatalogueEntry[], revision: number): Promise<void> {
  const caps = treeCapabilities(deps, root)
  const top = lastSegment(root.name)
  const rename = (name: string): string => top + name.slice(root.name.length)
  const listing: TreeListing = {
    version: TREE_LISTING_VERSION,
    kind: 'tree',
    treeId: root.fileId,
    revision,
    root: top,
    entries: entries.map((e): TreeEntry => {
      const name = rename(e.name)
      if (e.kind === 'file') return { name, kind: 'file', size: e.size, mode: e.mode, mtimeMs: e.mtimeMs, read: ownerFileCapabilities(deps.master, parseFileId(e.fileId)).read }
      if (e.kind === 'symlink') return { name, kind: 'symlink', mode: e.mode, mtimeMs: e.mtimeMs, target: e.target! }
      return { name, kind: 'directory', mode: e.mode, mtimeMs: e.mtimeMs }
    }),
    writer: Buffer.from(caps.write.publicKey).toString('hex')
  }
  const peers = (await deps.federation.candidates({ signal: sessions.signal })).filter((c) => c.reachable)
    .sort((a, b) => b.freeBytes - a.freeBytes).slice(0, LISTING_REPLICAS).map((c) => c.peerId)
  const placed = await storePieces(sessions, peers, sealTreeListing(listing, caps.read, caps.write), manifestSecret(caps.read.readRoot),
    commitmentToDecimal(poseidonCommitment(caps.deleteSecret)), deps.log)
  if (placed.holders.size === 0) throw new NoStorageNodesError(`no storage node kept the listing of ${root.name}; nothing was shared`)
}

/** Deletes every listing of the tree rooted at `root` that the federation's peers hold; the count deleted. */
export async function deleteTreeListings (deps: OwnerDeps, sessions: PeerSessions, root: Pick<CatalogueEntry, 'fileId' | 'name'>): Promise<number> {
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
 * Restores a shared tree under `base` (restore-items.ts: nothing written through a link,
 * nothing existing replaced), every file fetched with the read capability the listing
 * gives it. A sharer's modes are its word: permission bits only, never setuid, setgid or sticky.
 */
export async function receiveTree (deps: OwnerDeps, sessions: PeerSessions, listing: TreeListing, base: string, onProgress: (name: string, bytes: number) => void): Promise<RestoreReport> {
  const tree = new OutputTree(base)
  await tree.prepare()
  const items = listing.entries.map((e) => ({ ...e, size: e.kind === 'file' ? e.size : 0, rel: e.name.slice(listing.root.length + 1) }))
  return restoreItems(tree, items, 'refuse', {
    directoryModeMask: 0o777,
    same: async () => false,
    fetch: async (file, output) => {
      if (file.kind !== 'file') return
      await fetchFile(deps.federation, deps.log, { read: file.read, output, onProgress: (bytes) => onProgress(file.name, bytes), codec: deps.codec }, { sessions })
    }
  })
}
