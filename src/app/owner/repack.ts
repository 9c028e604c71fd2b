import { isPacked, type CatalogueEntry } from '../../domain/formats/catalogue.ts'
import { buildPack, type PackRef } from '../../domain/formats/pack.ts'
import { batchOf } from './batches.ts'
import type { CatalogueService } from './catalogue-service.ts'
import { deletePieces, storePieces } from './federation-pieces.ts'
import { PackReads } from './pack-reads.ts'
import type { PeerSessions } from './peer-sessions.ts'
import { resealedAlone, storedDataOf } from './packed-files.ts'
import { chunkIdOf } from '../../domain/formats/chunk-id.ts'
import { NoStorageNodesError, type OwnerDeps } from './put-file.ts'

/** What a repack did: packs rewritten, and the bytes of dead slices they no longer hold (per copy). */
export interface Repacked {
  packs: number
  freedBytes: number
}

/**
 * Rewrites each of `packIds` that still holds the slice of a file no entry names any
 * more (rm and forget leave such dead bytes: restic's prune repacks alike), so that
 * deleting one file of a pack frees its space now, not when its last file goes. The
 * live slices are cut from the pack, unchanged (their chunk ids stay), and stored as a
 * new pack on the same holders, or alone when one is left; the catalogue then names
 * the new pack, and the old one is deleted. The new pack is journaled as a put of the
 * pack's batch before it is sent, so a repack cut before the commit is undone by the
 * background work; a holder missing the old pack's delete gets it when it answers. A
 * pack that cannot be read now is left as it is: the next removal touching it, or its
 * lease, ends it.
 */
export async function repackPacks (deps: OwnerDeps, catalogue: CatalogueService, sessions: PeerSessions, touched: readonly CatalogueEntry[]): Promise<Repacked> {
  const done: Repacked = { packs: 0, freedBytes: 0 }
  const packs = new Map(touched.filter(isPacked).map((e) => [e.chunks![0]!.pack!.id, e]))
  if (packs.size === 0) return done
  const reads = new PackReads(sessions)
  // called after its command committed: a failure here is logged, the command's answer stands
  const loaded = await catalogue.load({ sessions }).catch((err: Error) => {
    deps.log.warn(`the packs of the removed or shared files could not be rewritten now: ${err.message}`)
    return undefined
  })
  if (loaded === undefined) return done
  const entries = loaded.entries
  for (const [packId, before] of packs) {
    const live = entries.filter((e) => isPacked(e) && e.chunks![0]!.pack!.id === packId)
    try {
      // a pack none of whose files is named any more (all shared out of it) just goes
      if (live.length === 0) await deleteOld(deps, sessions, packId, before)
      const freed = live.length === 0 ? 0 : await repackOne(deps, catalogue, sessions, reads, packId, live)
      if (live.length === 0 || freed > 0) {
        done.packs++
        done.freedBytes += freed
      }
    } catch (err) {
      deps.log.warn(`pack ${packId} could not be rewritten without its removed files now: ${(err as Error).message}`)
    }
  }
  return done
}

/** Deletes the pack `packId` from the holders `named` (an entry that named it) gave it, the batch's delete proof each; a holder that misses it gets it later. */
async function deleteOld (deps: OwnerDeps, sessions: PeerSessions, packId: string, named: CatalogueEntry): Promise<void> {
  const batch = batchOf(deps.master, named.batch!)
  for (const peer of named.chunks![0]!.holders) {
    await deletePieces(sessions, peer, [packId], batch.deleteSecret).catch(async (err: Error) => {
      deps.log.warn(`could not delete the old pack ${packId} on ${peer}: ${err.message}`)
      await deps.journal?.missedDelete(peer, named.fileId, batch.id, [packId]).catch(() => {})
    })
  }
}

async function repackOne (deps: OwnerDeps, catalogue: CatalogueService, sessions: PeerSessions, reads: PackReads, packId: string, live: CatalogueEntry[]): Promise<number> {
  // a file kept unchanged in several versions is one slice
  const slices = [...new Map(live.map((e) => [e.chunks![0]!.id, e.chunks![0]!])).values()]
  const holders = slices[0]!.holders
  if (holders.length === 0) return 0
  const batch = batchOf(deps.master, live[0]!.batch!)
  const whole = await reads.pack(packId, holders, batch.readSecret)
  const sealed = await Promise.all(slices.map(async (s) => reads.slice(s.pack!, s.id, holders, batch.readSecret)))
  const dead = whole.byteLength - sealed.reduce((n, s) => n + s.byteLength, 0)
  if (dead <= 0) return 0
  // one file left: stored alone, sealed again so that its id is this rewrite's own (resealedAlone)
  const lone = slices.length === 1 ? resealedAlone(deps.master, live[0]!, sealed[0]!) : undefined
  const pack = lone === undefined ? buildPack(sealed) : undefined
  const data = pack?.bytes ?? lone!
  const rewritten = pack?.id ?? chunkIdOf(lone!)
  const refs = new Map<string, { id: string, pack?: PackRef }>(slices.map((s, i) => [s.id, pack === undefined ? { id: rewritten } : { id: s.id, pack: pack.refs[i]! }]))
  // journaled as exactly what it stores, under an op of its own: undoing it deletes that and nothing else of the batch
  const journal = await deps.journal?.startShare(undefined)
  try {
    await journal?.manifest(live[0]!.fileId, [rewritten], { batch: batch.id, holders })
    const placed = await storePieces(sessions, holders, [data], batch.readSecret, batch.deleteCommitment, deps.log)
    const kept = holders.filter((peer) => placed.holders.has(peer))
    if (kept.length === 0) throw new NoStorageNodesError('no holder of the pack took its rewrite')
    let moved = 0
    const next = await catalogue.update((current) => current.map((e) => {
      const chunk = e.chunks?.[0]
      if (chunk?.pack?.id !== packId || !refs.has(chunk.id)) return e
      moved++
      return { ...e, chunks: [{ ...refs.get(chunk.id)!, holders: [...kept] }] }
    }), { sessions })
    // another operation rewrote or emptied the pack meanwhile: this rewrite is named by nothing
    if (moved === 0 && !next.entries.some((e) => storedDataOf(e).some((d) => d.id === rewritten))) {
      for (const peer of kept) await deletePieces(sessions, peer, [rewritten], batch.deleteSecret).catch(() => {})
    }
    await journal?.done()
    // a file that came to name the pack meanwhile keeps it: its lease or a later removal ends it
    if (next.entries.some((e) => storedDataOf(e).some((d) => d.id === packId))) return 0
  } catch (err) {
    journal?.failed()
    throw err
  }
  await deleteOld(deps, sessions, packId, live[0]!)
  return dead
}
