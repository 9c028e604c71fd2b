import type { CatalogueEntry } from '../../domain/formats/catalogue.ts'
import { parseFileId } from '../../domain/formats/file-id.ts'
import { ownerFileCapabilities } from '../../domain/capabilities/file-capabilities.ts'
import { deletePieces } from './federation-pieces.ts'
import { readManifest } from './fetch-file.ts'
import { batchOf } from './batches.ts'
import { PeerSessions, type SessionOptions } from './peer-sessions.ts'
import type { OwnerDeps } from './put-file.ts'

export interface RemovalReport {
  fileId: string
  name: string
  /** The file's bytes. */
  size: number
  /** Chunks and manifest pieces deleted, counted per holder. */
  deleted: number
  /** Holders that could not be reached: their copies stay until a later `rm`. */
  unreachable: string[]
}

/**
 * Deletes a file's chunks and manifest pieces on every holder with proof-gated
 * deletes: the manifest (read from the first holder that has it) names the chunks and
 * their holders, the catalogue entry names the manifest pieces and theirs, so nothing
 * is listed. Every record of the file carries its delete commitment, so one proof of
 * the delete secret per holder removes chunks and pieces alike. Holders that cannot be
 * reached are reported, not fatal.
 */
export interface RemoveFileOptions extends SessionOptions {
  /**
   * Packs (pack.ts) no entry left in the catalogue names: the first file of one that is
   * removed deletes it and takes it out of the set. A packed file outside it leaves its
   * pack to the files still in it; its slice is dead bytes until the pack is rewritten.
   */
  endingPacks?: Set<string>
}

export async function removeFile (deps: OwnerDeps, entry: CatalogueEntry, options?: RemoveFileOptions): Promise<RemovalReport> {
  return PeerSessions.using(deps.federation, options, async (sessions) => {
    const fileId = parseFileId(entry.fileId)
    const caps = ownerFileCapabilities(deps.master, fileId)
    const refs = entry.manifest ?? []
    const batch = entry.batch === undefined ? undefined : batchOf(deps.master, entry.batch)
    // a batched file's entry names its chunks: its manifest is not read (no proof for it)
    const manifest = batch !== undefined && entry.chunks !== undefined
      ? { chunks: entry.chunks, holders: entry.chunks.map((c) => c.holders) }
      : await readManifest(deps.federation, sessions, deps.log, { fileId, read: caps.read, manifest: refs, cache: deps.manifestCache })

    const idsByHolder = new Map<string, string[]>()
    const add = (peer: string, id: string): void => { idsByHolder.set(peer, [...(idsByHolder.get(peer) ?? []), id]) }
    manifest?.chunks.forEach((chunk, index) => {
      const pack = entry.chunks?.[index]?.pack
      // a packed chunk is stored only inside its pack
      const id = pack === undefined ? chunk.id : options?.endingPacks?.delete(pack.id) === true ? pack.id : undefined
      if (id !== undefined) for (const peer of manifest.holders[index] ?? []) add(peer, id)
    })
    for (const ref of refs) {
      for (const peer of ref.holders) add(peer, ref.id)
    }
    const secret = batch?.deleteSecret ?? caps.deleteSecret
    const unreachable = new Set<string>()
    try {
      const counts = await Promise.all([...idsByHolder].map(async ([peer, ids]) => {
        try {
          return await deletePieces(sessions, peer, ids, secret)
        } catch (err) {
          deps.log.warn(`could not delete ${entry.name} on ${peer}: ${(err as Error).message}`)
          unreachable.add(peer)
          // sent again by the journal's background work once the holder answers
          await deps.journal?.missedDelete(peer, entry.fileId, entry.batch, ids).catch((e) => deps.log.warn(`the missed delete on ${peer} could not be journaled: ${(e as Error).message}`))
          return 0
        }
      }))
      return { fileId: entry.fileId, name: entry.name, size: entry.size, deleted: counts.reduce((a, b) => a + b, 0), unreachable: [...unreachable] }
    } finally {
      // a batch's delete session serves the operation's other files of the batch
      if (batch === undefined) await sessions.release(secret)
    }
  })
}
