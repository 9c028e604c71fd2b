import type { CatalogueEntry } from '../../domain/formats/catalogue.ts'
import { parseFileId } from '../../domain/formats/file-id.ts'
import { fileRetrievalSecretFromRoot, fileRoot, manifestSecretFromRoot } from '../../domain/crypto/key-derivation.ts'
import { deletePieces } from './federation-pieces.ts'
import { readManifest } from './fetch-file.ts'
import { PeerSessions, type SessionOptions } from './peer-sessions.ts'
import type { OwnerDeps } from './put-file.ts'

export interface RemovalReport {
  fileId: string
  name: string
  /** Chunks and manifest pieces deleted, counted per holder. */
  deleted: number
  /** Holders that could not be reached: their copies stay until a later `rm`. */
  unreachable: string[]
}

/**
 * Deletes a file's chunks and manifest pieces on every holder with proof-gated
 * deletes: the manifest (read from the first holder that has it) names the chunks and
 * their holders, the catalogue entry names the manifest pieces and theirs, so nothing
 * is listed. Holders that cannot be reached are reported, not fatal.
 */
export async function removeFile (deps: OwnerDeps, entry: CatalogueEntry, options?: SessionOptions): Promise<RemovalReport> {
  return PeerSessions.using(deps.federation, options, async (sessions) => {
    const fileId = parseFileId(entry.fileId)
    const root = fileRoot(deps.master, fileId)
    const refs = entry.manifest ?? []
    const manifest = await readManifest(deps.federation, sessions, deps.log, { fileId, root, manifest: refs })

    const chunksByHolder = new Map<string, string[]>()
    manifest?.chunks.forEach((chunk, index) => {
      for (const peer of manifest.holders[index] ?? []) chunksByHolder.set(peer, [...(chunksByHolder.get(peer) ?? []), chunk.id])
    })
    const piecesByHolder = new Map<string, string[]>()
    for (const ref of refs) {
      for (const peer of ref.holders) piecesByHolder.set(peer, [...(piecesByHolder.get(peer) ?? []), ref.id])
    }
    const secret = fileRetrievalSecretFromRoot(root)
    const manifestSecret = manifestSecretFromRoot(root)
    const jobs: Array<[string, string[], bigint]> = [
      ...[...chunksByHolder].map(([peer, ids]): [string, string[], bigint] => [peer, ids, secret]),
      ...[...piecesByHolder].map(([peer, ids]): [string, string[], bigint] => [peer, ids, manifestSecret])
    ]
    const unreachable = new Set<string>()
    try {
      const counts = await Promise.all(jobs.map(async ([peer, ids, s]) => {
        try {
          return await deletePieces(sessions, peer, ids, s)
        } catch (err) {
          deps.log.warn(`could not delete ${entry.name} on ${peer}: ${(err as Error).message}`)
          unreachable.add(peer)
          return 0
        }
      }))
      return { fileId: entry.fileId, name: entry.name, deleted: counts.reduce((a, b) => a + b, 0), unreachable: [...unreachable] }
    } finally {
      await Promise.all([sessions.release(secret), sessions.release(manifestSecret)])
    }
  })
}
