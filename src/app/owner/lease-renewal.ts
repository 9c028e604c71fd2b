import { setTimeout as sleep } from 'node:timers/promises'
import type { CatalogueEntry } from '../../domain/formats/catalogue.ts'
import { BusyError } from '../../domain/protocol/federation-errors.ts'
import { parseFileId } from '../../domain/formats/file-id.ts'
import { ownerFileCapabilities } from '../../domain/capabilities/file-capabilities.ts'
import { catalogueDeleteSecret } from '../../domain/crypto/key-derivation.ts'
import type { Manifest } from '../../domain/formats/manifest.ts'
import type { AbortOptions } from '../../ports/abort-options.ts'
import type { CatalogueService } from './catalogue-service.ts'
import { readManifest } from './fetch-file.ts'
import { inParallel } from './in-parallel.ts'
import { PeerSessions } from './peer-sessions.ts'
import type { OwnerDeps } from './put-file.ts'
import { batchOf } from './batches.ts'
import { impliedManifest, lacksManifest } from './batched-manifest.ts'

/** Chunk ids one renew request names (protocol-spec/leases.md). */
const IDS_PER_RENEWAL = 1000
/** Holders renewed (one delete session each per commitment), or manifests read, at once. */
const HOLDERS_AT_ONCE = 4
/** A busy holder is asked again after 1 s, 2 s, 4 s, 8 s and 16 s, then left for the next round. */
const BUSY_RETRIES = 5
const BUSY_PAUSE_MS = 1000

/** What one renewal round did. */
export interface LeaseRound {
  /** Records renewed, over every holder. */
  renewed: number
  /** Ids a holder said it holds no record of (lost, collected, or never stored). */
  missing: number
  /** (holder, commitment) pairs that could not be renewed now (unreachable, refused, a node from before leases). */
  failed: number
}

/**
 * The owner's lease renewals (protocol-spec/leases.md): every `leaseRenewEvery`, each
 * holder is asked, in a delete session per delete commitment, to renew the records of
 * everything this owner still references: the catalogue generation's pieces, and per
 * file the manifest pieces its entry names and the chunks or shards its manifest places
 * there. What nothing references any more (an interrupted put, a replaced shard whose
 * old holder never came back, an old catalogue generation) is not renewed, and the
 * holders collect it after its lease and trash period.
 */
export class LeaseRenewal {
  private readonly deps: OwnerDeps
  private readonly catalogue: CatalogueService
  /** Manifests read, by file id and the manifest pieces naming them: a repaired file's new revision is read again. */
  private manifests = new Map<string, Manifest>()
  private readonly sums: LeaseRound = { renewed: 0, missing: 0, failed: 0 }

  constructor (deps: OwnerDeps, catalogue: CatalogueService) {
    this.deps = deps
    this.catalogue = catalogue
  }

  async renew (options?: AbortOptions): Promise<LeaseRound> {
    const catalogue = await this.catalogue.loaded(options)
    if (catalogue === undefined) return { renewed: 0, missing: 0, failed: 0 }
    return PeerSessions.using(this.deps.federation, options, async (sessions) => {
      const work = new Work()
      work.add(catalogueDeleteSecret(this.deps.master), Object.entries(this.catalogue.pieceHolders()))
      const files = [...new Map(catalogue.entries.filter((e) => e.kind === 'file').map((e) => [e.fileId, e])).values()]
      let failed = 0
      // manifests of files no longer referenced, or of earlier revisions, are dropped
      const read = new Map<string, Manifest>()
      // a manifest not read yet costs a proof per file: a few at once
      for (const added of await inParallel(files, HOLDERS_AT_ONCE, async (entry) => this.addFile(work, entry, sessions, read))) {
        if (!added) failed++
      }
      this.manifests = read
      const round: LeaseRound = { renewed: 0, missing: 0, failed }
      // holders at once, each one's requests in turn: a node charges a renewal one request per id
      await inParallel([...work.byPeer()], HOLDERS_AT_ONCE, async ([peer, requests]) => {
        for (const { secret, ids } of requests) await this.renewPage(sessions, peer, secret, ids, round, options)
      })
      for (const secret of work.secrets()) await sessions.release(secret)
      this.sums.renewed += round.renewed
      this.sums.missing += round.missing
      this.sums.failed += round.failed
      return round
    })
  }

  /**
   * One renew request, tried again after a pause when the holder is busy (its request
   * rate, which a renewal of 1,000 ids spends 1,000 of); counted into `round`.
   */
  private async renewPage (sessions: PeerSessions, peer: string, secret: bigint, ids: string[], round: LeaseRound, options?: AbortOptions): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        const answer = await sessions.renew(peer, secret, ids)
        if (answer === undefined) throw new Error('the session cannot renew')
        round.renewed += ids.length - answer.missing.length
        round.missing += answer.missing.length
        if (answer.missing.length > 0) this.deps.log.info(`${peer} holds no record of ${answer.missing.length} of ${ids.length} piece(s) it was asked to renew`)
        return
      } catch (err) {
        if (err instanceof BusyError && attempt < BUSY_RETRIES && options?.signal?.aborted !== true) {
          await sleep(BUSY_PAUSE_MS * 2 ** attempt, undefined, { signal: options?.signal }).catch(() => {})
          continue
        }
        round.failed++
        this.deps.log.debug(`renewing ${ids.length} lease(s) on ${peer} failed: ${(err as Error).message}; the next round tries again`)
        return
      }
    }
  }

  /** What the rounds since start did (the daemon's /metrics). */
  totals (): Readonly<LeaseRound> {
    return { ...this.sums }
  }

  /** Adds what `entry` keeps on each holder; false when its manifest cannot be read now. */
  private async addFile (work: Work, entry: CatalogueEntry, sessions: PeerSessions, read: Map<string, Manifest>): Promise<boolean> {
    const fileId = parseFileId(entry.fileId)
    const caps = ownerFileCapabilities(this.deps.master, fileId)
    // a file of a batch keeps its records under the batch's delete commitment
    const secret = entry.batch === undefined ? caps.deleteSecret : batchOf(this.deps.master, entry.batch).deleteSecret
    const refs = entry.manifest ?? []
    for (const ref of refs) work.add(secret, ref.holders.map((peer) => [peer, [ref.id]]))
    const key = `${entry.fileId} ${refs.map((r) => r.id).join(',')}`
    // a batched file not shared yet has no manifest: its entry names its chunks
    let manifest = this.manifests.get(key) ?? (lacksManifest(entry) ? impliedManifest(this.deps.master, entry) : undefined)
    if (manifest === undefined) {
      manifest = await readManifest(this.deps.federation, sessions, this.deps.log, {
        fileId, read: caps.read, ...(entry.manifest === undefined ? {} : { manifest: entry.manifest })
      }).catch(() => undefined)
      if (manifest === undefined) return false
    }
    read.set(key, manifest)
    manifest.chunks.forEach((chunk, i) => work.add(secret, (manifest.holders[i] ?? []).map((peer) => [peer, [chunk.id]])))
    return true
  }
}

/** Ids to renew per (holder, delete secret), in requests of at most IDS_PER_RENEWAL. */
class Work {
  private readonly byKey = new Map<string, { peer: string, secret: bigint, ids: Set<string> }>()

  add (secret: bigint, held: Iterable<readonly [string, readonly string[]]>): void {
    for (const [peer, ids] of held) {
      const key = `${peer} ${secret}`
      const entry = this.byKey.get(key) ?? { peer, secret, ids: new Set<string>() }
      for (const id of ids) entry.ids.add(id)
      this.byKey.set(key, entry)
    }
  }

  /** Per holder, its requests: ids per delete secret, in pages of IDS_PER_RENEWAL. */
  byPeer (): Map<string, Array<{ secret: bigint, ids: string[] }>> {
    const pages = new Map<string, Array<{ secret: bigint, ids: string[] }>>()
    for (const { peer, secret, ids } of this.byKey.values()) {
      const all = [...ids]
      const list = pages.get(peer) ?? []
      for (let i = 0; i < all.length; i += IDS_PER_RENEWAL) list.push({ secret, ids: all.slice(i, i + IDS_PER_RENEWAL) })
      pages.set(peer, list)
    }
    return pages
  }

  secrets (): bigint[] {
    return [...new Set([...this.byKey.values()].map((e) => e.secret))]
  }
}
