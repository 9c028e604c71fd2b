import { setTimeout as sleep } from 'node:timers/promises'
import { isPacked, type CatalogueEntry } from '../../domain/formats/catalogue.ts'
import { storedDataOf } from './packed-files.ts'
import { BusyError } from '../../domain/protocol/federation-errors.ts'
import { parseFileId } from '../../domain/formats/file-id.ts'
import { ownerFileCapabilities } from '../../domain/capabilities/file-capabilities.ts'
import { catalogueDeleteSecret, leaseSecret } from '../../domain/crypto/key-derivation.ts'
import { commitmentToDecimal, poseidonCommitment } from '../../domain/proofs/poseidon-commitment.ts'
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
/** Holders renewed (one session under L each, and one per D where records still lack L), or manifests read, at once. */
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
  /** Renew requests that could not be done now (unreachable, refused, a node from before leases). */
  failed: number
}

type Answer = { missing: string[], leaseCommitments: boolean } | undefined

/**
 * The owner's lease renewals (protocol-spec/leases.md): every `leaseRenewEvery`, each
 * holder is asked to renew the records of everything this owner still references: the
 * catalogue generation's pieces, and per file the manifest pieces its entry names and
 * the chunks or shards its manifest places there. What nothing references any more (an
 * interrupted put, a replaced shard whose old holder never came back, an old catalogue
 * generation) is not renewed, and the holders collect it after its lease and trash period.
 *
 * Per holder, one session under the owner's lease commitment L renews every record
 * stored with it, whatever file's: one proof per holder and round. What that session
 * finds missing (records stored before lease commitments, or lost) is renewed in a
 * session per delete commitment, which also sets L on them, so the next round finds
 * them under L; what is missing there too is gone. A holder from before lease
 * commitments is renewed per delete commitment, as it was, and not asked under L again
 * until this daemon restarts or its answers say it keeps them.
 */
export class LeaseRenewal {
  private readonly deps: OwnerDeps
  private readonly catalogue: CatalogueService
  private readonly lease: bigint
  private readonly leaseCommitment: string
  /** Manifests read, by file id and the manifest pieces naming them: a repaired file's new revision is read again. */
  private manifests = new Map<string, Manifest>()
  /** Holders whose answers said they keep no lease commitments. */
  private readonly withoutLeases = new Set<string>()
  private readonly sums: LeaseRound = { renewed: 0, missing: 0, failed: 0 }

  /**
   * Told of each holder that answered every request of a round, with the ids it holds no
   * record of (the repair service: expired or lost, RepairService.renewedOn).
   */
  private readonly onRenewed: (peer: string, at: number, missing: string[]) => void

  constructor (deps: OwnerDeps, catalogue: CatalogueService, onRenewed: (peer: string, at: number, missing: string[]) => void = () => {}) {
    this.deps = deps
    this.catalogue = catalogue
    this.onRenewed = onRenewed
    this.lease = leaseSecret(deps.master)
    this.leaseCommitment = commitmentToDecimal(poseidonCommitment(this.lease))
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
      await this.forgetUnreferenced(catalogue.entries)
      const round: LeaseRound = { renewed: 0, missing: 0, failed }
      // holders at once, each one's requests in turn: a node charges a renewal one request per id
      await inParallel([...work.byPeer()], HOLDERS_AT_ONCE, async ([peer, ids]) => {
        // when this holder's renewal began: no lease it sets there ends sooner than a lease after it
        const at = Date.now()
        const missing = await this.renewOn(sessions, peer, ids, round, options)
        if (missing !== undefined) this.onRenewed(peer, at, missing)
      })
      for (const secret of [...work.secrets(), this.lease]) await sessions.release(secret)
      this.sums.renewed += round.renewed
      this.sums.missing += round.missing
      this.sums.failed += round.failed
      return round
    })
  }

  /**
   * Renews `ids` (chunk id -> its delete secret) on `peer`: under L first, then what L did
   * not reach under each D. The ids missing there (gone, whatever their lease) when every
   * request was answered; undefined when one was not.
   */
  private async renewOn (sessions: PeerSessions, peer: string, ids: Map<string, bigint>, round: LeaseRound, options?: AbortOptions): Promise<string[] | undefined> {
    let left = [...ids.keys()]
    let answered = true
    const missing: string[] = []
    if (!this.withoutLeases.has(peer)) {
      const unreached: string[] = []
      for (const [i, page] of pages(left).entries()) {
        const answer = await this.renewPage(sessions, peer, this.lease, page, round, options)
        if (answer === undefined) return undefined // unreachable or refused: no D session would fare better this round
        if (!answer.leaseCommitments) {
          // a node from before lease commitments renewed nothing under L: every id goes by its D
          this.withoutLeases.add(peer)
          unreached.push(...pages(left).slice(i).flat())
          break
        }
        round.renewed += page.length - answer.missing.length
        unreached.push(...answer.missing)
      }
      left = unreached
    }
    const bySecret = new Map<bigint, string[]>()
    for (const id of left) {
      const secret = ids.get(id)!
      bySecret.set(secret, [...bySecret.get(secret) ?? [], id])
    }
    for (const [secret, under] of bySecret) {
      for (const page of pages(under)) {
        const answer = await this.renewPage(sessions, peer, secret, page, round, options)
        if (answer === undefined) {
          answered = false
          continue
        }
        if (answer.leaseCommitments) this.withoutLeases.delete(peer)
        round.renewed += page.length - answer.missing.length
        round.missing += answer.missing.length
        missing.push(...answer.missing)
        if (answer.missing.length > 0) this.deps.log.info(`${peer} holds no record of ${answer.missing.length} of ${page.length} piece(s) it was asked to renew`)
      }
    }
    return answered ? missing : undefined
  }

  /**
   * One renew request under the commitment of `secret` (asking, under a D, for L to be
   * set), tried again after a pause when the holder is busy (its request rate, which a
   * renewal of 1,000 ids spends 1,000 of); undefined, counted failed in `round`, when it
   * cannot be done now.
   */
  private async renewPage (sessions: PeerSessions, peer: string, secret: bigint, ids: string[], round: LeaseRound, options?: AbortOptions): Promise<Answer> {
    const lease = secret === this.lease ? undefined : this.leaseCommitment
    for (let attempt = 0; ; attempt++) {
      try {
        const answer = await sessions.renew(peer, secret, ids, lease)
        if (answer === undefined) throw new Error('the session cannot renew')
        return answer
      } catch (err) {
        if (err instanceof BusyError && attempt < BUSY_RETRIES && options?.signal?.aborted !== true) {
          await sleep(BUSY_PAUSE_MS * 2 ** attempt, undefined, { signal: options?.signal }).catch(() => {})
          continue
        }
        round.failed++
        this.deps.log.debug(`renewing ${ids.length} lease(s) on ${peer} failed: ${(err as Error).message}; the next round tries again`)
        return undefined
      }
    }
  }

  /** What the rounds since start did (the daemon's /metrics). */
  totals (): Readonly<LeaseRound> {
    return { ...this.sums }
  }

  /** Drops cached manifest pieces no entry of the catalogue names any more (removed files, earlier revisions). */
  private async forgetUnreferenced (entries: CatalogueEntry[]): Promise<void> {
    const live = new Set(entries.flatMap((e) => (e.manifest ?? []).map((ref) => ref.id)))
    try {
      await this.deps.manifestCache?.retain(live)
    } catch (err) {
      this.deps.log.debug(`the manifest cache could not be pruned: ${(err as Error).message}`)
    }
  }

  /** Adds what `entry` keeps on each holder; false when its manifest cannot be read now. */
  private async addFile (work: Work, entry: CatalogueEntry, sessions: PeerSessions, read: Map<string, Manifest>): Promise<boolean> {
    const fileId = parseFileId(entry.fileId)
    const caps = ownerFileCapabilities(this.deps.master, fileId)
    // a file of a batch keeps its records under the batch's delete commitment
    const secret = entry.batch === undefined ? caps.deleteSecret : batchOf(this.deps.master, entry.batch).deleteSecret
    const refs = entry.manifest ?? []
    for (const ref of refs) work.add(secret, ref.holders.map((peer) => [peer, [ref.id]]))
    // a packed file's data is its pack, kept by every file of it
    if (isPacked(entry)) {
      for (const pack of storedDataOf(entry)) work.add(secret, pack.holders.map((peer) => [peer, [pack.id]]))
      return true
    }
    const key = `${entry.fileId} ${refs.map((r) => r.id).join(',')}`
    // a batched file not shared yet has no manifest: its entry names its chunks
    let manifest = this.manifests.get(key) ?? (lacksManifest(entry) ? impliedManifest(this.deps.master, entry) : undefined)
    if (manifest === undefined) {
      manifest = await readManifest(this.deps.federation, sessions, this.deps.log, {
        fileId, read: caps.read, ...(entry.manifest === undefined ? {} : { manifest: entry.manifest }), cache: this.deps.manifestCache
      }).catch(() => undefined)
      if (manifest === undefined) return false
    }
    read.set(key, manifest)
    manifest.chunks.forEach((chunk, i) => work.add(secret, (manifest.holders[i] ?? []).map((peer) => [peer, [chunk.id]])))
    return true
  }
}

/** Ids to renew per holder, each with the delete secret its records are under. */
class Work {
  private readonly byPeer_ = new Map<string, Map<string, bigint>>()

  add (secret: bigint, held: Iterable<readonly [string, readonly string[]]>): void {
    for (const [peer, ids] of held) {
      const entry = this.byPeer_.get(peer) ?? new Map<string, bigint>()
      for (const id of ids) entry.set(id, secret)
      this.byPeer_.set(peer, entry)
    }
  }

  byPeer (): Map<string, Map<string, bigint>> {
    return this.byPeer_
  }

  secrets (): bigint[] {
    return [...new Set([...this.byPeer_.values()].flatMap((ids) => [...ids.values()]))]
  }
}

/** `ids` in renew requests of at most IDS_PER_RENEWAL. */
function pages (ids: readonly string[]): string[][] {
  const all: string[][] = []
  for (let i = 0; i < ids.length; i += IDS_PER_RENEWAL) all.push(ids.slice(i, i + IDS_PER_RENEWAL))
  return all
}
