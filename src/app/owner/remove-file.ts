import type { CatalogueEntry } from '../../domain/formats/catalogue.ts'
import { parseFileId } from '../../domain/formats/file-id.ts'
import { fileRetrievalSecretFromRoot, fileRoot, manifestSecretFromRoot } from '../../domain/crypto/key-derivation.ts'
import type { AbortOptions } from '../../ports/abort-options.ts'
import { deletePieces, gatherPieces } from './federation-pieces.ts'
import { newestManifest } from '../../domain/formats/manifest.ts'
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
 * deletes. Holders that cannot be reached are reported, not fatal.
 */
export async function removeFile (deps: OwnerDeps, entry: CatalogueEntry, options?: AbortOptions): Promise<RemovalReport> {
  const fileId = parseFileId(entry.fileId)
  const root = fileRoot(deps.master, fileId)
  const manifestSecret = manifestSecretFromRoot(root)
  const manifestHolders = [...new Set((entry.manifest ?? []).flatMap((piece) => piece.holders))]
  const gathered = await gatherPieces(deps.federation, manifestHolders, manifestSecret, deps.log, options)
  const manifest = newestManifest(gathered.pieces, root, fileId)
  const report: RemovalReport = { fileId: entry.fileId, name: entry.name, deleted: 0, unreachable: [] }

  const chunksByHolder = new Map<string, string[]>()
  manifest?.chunks.forEach((chunk, index) => {
    for (const peer of manifest.holders[index] ?? []) chunksByHolder.set(peer, [...(chunksByHolder.get(peer) ?? []), chunk.id])
  })
  const secret = fileRetrievalSecretFromRoot(root)
  const jobs: Array<[string, string[], bigint]> = [
    ...[...chunksByHolder].map(([peer, ids]): [string, string[], bigint] => [peer, ids, secret]),
    ...[...gathered.holders].map(([peer, ids]): [string, string[], bigint] => [peer, ids, manifestSecret])
  ]
  const unreachable = new Set<string>(manifestHolders.filter((peer) => !gathered.holders.has(peer)))
  const counts = await Promise.all(jobs.map(async ([peer, ids, s]) => {
    try {
      return await deletePieces(deps.federation, peer, ids, s, options)
    } catch (err) {
      deps.log.warn(`could not delete ${entry.name} on ${peer}: ${(err as Error).message}`)
      unreachable.add(peer)
      return 0
    }
  }))
  report.deleted = counts.reduce((a, b) => a + b, 0)
  report.unreachable = [...unreachable]
  return report
}
