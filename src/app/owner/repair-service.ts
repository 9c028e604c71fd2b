import { isPacked, type CatalogueEntry } from '../../domain/formats/catalogue.ts'
import { PACK_MAX_BYTES } from '../../domain/formats/pack.ts'
import { storedDataOf } from './packed-files.ts'
import { resolveReference } from '../../domain/formats/catalogue-paths.ts'
import { parseFileId } from '../../domain/formats/file-id.ts'
import { ownerFileCapabilities } from '../../domain/capabilities/file-capabilities.ts'
import { retrievalSecret } from '../../domain/crypto/key-derivation.ts'
import type { Manifest } from '../../domain/formats/manifest.ts'
import { fileHealth, slotsToRepair, type FileHealth, type Usable } from '../../domain/formats/manifest-health.ts'
import { choosePlacement } from '../../domain/membership/placement.ts'
import { formatScheme } from '../../domain/formats/stripe-layout.ts'
import type { AbortOptions } from '../../ports/abort-options.ts'
import type { RepairState, RepairStateStore } from '../../ports/repair-state.ts'
import type { CatalogueService } from './catalogue-service.ts'
import { deletePieces } from './federation-pieces.ts'
import { dataSecretOf, readManifest } from './fetch-file.ts'
import { impliedManifest, lacksManifest } from './batched-manifest.ts'
import { inParallel } from './in-parallel.ts'
import { PeerSessions } from './peer-sessions.ts'
import { fileKeysOf, storeManifest, type OwnerDeps } from './put-file.ts'
import { rebuildShards } from './rebuild-shards.ts'
import { copyReplicas, holdersToReplace } from './copy-replicas.ts'
import { batchOf } from './batches.ts'
import type { RepairBudget } from './repair-budget.ts'
import { auditHolders } from './shard-audit.ts'
import { durabilityEstimator, type DurabilityEstimator, type FileDurability } from './durability-estimate.ts'
import type { StorageCandidate } from '../../ports/federation-client.ts'
import { DEFAULT_CONFIG } from '../../domain/config/node-config.ts'

export interface RepairSettings {
  /** A holder unreachable this long has lost its pieces: they are rebuilt elsewhere. */
  repairAfterMs: number
  /** Pieces audited per holder and file each round. */
  auditSample: number
  /** What repair reads and writes passes through this (the `repairBandwidth` setting). */
  budget: RepairBudget
  /** Files checked and repaired at once. */
  concurrency: number
  /** Milliseconds between the daemon's rounds (`auditEvery`), for the durability estimate's repair times. */
  auditEveryMs?: number
  /** Where distrust, pending deletions and audit counts outlive a restart; without one they live in memory. */
  state?: RepairStateStore
  /**
   * How long a record lives on its holder unless renewed (`leaseDuration`): a piece not
   * found on a holder the owner has not renewed on for this long expired, and was not lost.
   */
  leaseDurationMs?: number
}

/** What `check` found of one file. */
export interface FileCheck extends Partial<FileHealth> {
  fileId: string
  name: string
  /** "K+M", or "N copies". */
  scheme?: string
  /** Pieces audited now, and how many of them failed. */
  audited: number
  failed: number
  /** Shards rebuilt on new holders now. */
  repaired: number
  /** Audited pieces not found on a holder whose leases may have lapsed (no renewal there for a lease's length): re-placed, the holder not blamed. */
  expired?: number
  /** The manifest revision after this check. */
  revision?: number
  error?: string
}

/** The repair's state, for `status`. */
export interface RepairQueue {
  /** Files whose health is known (their manifest was read). */
  files: number
  /** Files below full health now, and those among them waiting for repairAfter. */
  degraded: number
  waiting: number
  /** Files being checked or repaired now. */
  running: string[]
  /** Old holders whose replaced pieces are deleted once they answer again. */
  deletions: number
  /** Holders caught by an audit: never chosen again, their pieces rebuilt elsewhere. */
  distrusted: string[]
  repairedShards: number
  /** Bytes repair read and wrote since start (rebuilt or copied pieces and what they were made from; RepairBudget). */
  repairBytes: number
  /** Pieces audited since start, by verdict (unreachable holders are not counted). */
  audits: { passed: number, failed: number }
  lastSweepAt?: number
}

/**
 * Durability for the owner's files: audits of the holders, and lazy repair. One round
 * (`check`, run by the daemon every auditEvery and by `quloud check`) reads each file's
 * manifest once (then keeps it while the catalogue names the file), audits a sample of
 * every live holder's pieces, and rebuilds the shards of an erasure-coded file that are
 * gone for good: on a holder caught by an audit, or away longer than repairAfter, or on any unreachable holder once
 * a stripe is down to k healthy shards (a replicated file: the copies of such holders,
 * copied from a healthy one, copy-replicas.ts). Rebuilt shards go to new holders chosen by
 * placement, and the file gets a new signed manifest revision and catalogue generation.
 * What a replaced holder kept is deleted when it answers again. A holder caught by an
 * audit is distrusted: it is not chosen for new pieces (the owner's candidates leave
 * it out). Distrust, pending deletions and the counts are saved (`settings.state`) as
 * they change and restored by `restore`, so a holder that returns after the owner's
 * daemon restarted still has its replaced pieces deleted (and so are the renewals, and
 * what a renewal after a gap found lapsed, so an honest holder is not blamed for a
 * lease that ran out before the restart); how long a holder has been
 * away, and the manifests, are not: a restarted daemon watches and reads them again.
 */
export class RepairService {
  private readonly deps: OwnerDeps
  private readonly catalogue: CatalogueService
  private readonly settings: RepairSettings
  private readonly now: () => number
  private readonly manifests = new Map<string, Manifest>()
  private readonly missingSince = new Map<string, number>()
  private readonly distrusted = new Set<string>()
  /** Per holder, when the owner last renewed its records there (LeaseRenewal), saved with the state. */
  private readonly renewedAt = new Map<string, number>()
  /**
   * Per holder, the pieces the first renewal after a gap of a lease's length found
   * missing there: those may have lapsed honestly. Not the pieces stored before the gap:
   * what that renewal renewed has a lease again, and a holder that drops it later lost it.
   */
  private readonly lapsedInGap = new Map<string, Set<string>>()
  /** Per file id, holders whose pieces of it expired for want of renewal: gone, not to blame; re-placed by repair. */
  private readonly lapsed = new Map<string, Set<string>>()
  /**
   * Per `peer fileId`, since when every audit of that file on that live holder was
   * unreachable (BUSY, refused, cut): past repairAfter its pieces of the file count as
   * gone, as an absent holder's do. A holder can tell one file's sessions from another's
   * (the read commitment), so answering every audit but those of the file it dropped
   * would otherwise keep the file healthy on paper for ever, and never be caught.
   */
  private readonly unanswered = new Map<string, number>()
  /** Per `peer fileId`, ids of pieces that peer no longer needs to keep. */
  /** Pieces to delete from old holders, under the file's delete secret or (`batch`) its batch's. */
  private readonly deletions = new Map<string, { peer: string, fileId: string, batch?: string, ids: Set<string> }>()
  private readonly running = new Set<string>()
  private live = new Set<string>()
  /** The peer book's view of the live peers at the last refresh, for the durability estimate. */
  private peers = new Map<string, StorageCandidate>()
  private readonly estimate: DurabilityEstimator
  private repairedShards = 0
  private readonly audits = { passed: 0, failed: 0 }
  private lastSweepAt: number | undefined
  private turn: Promise<unknown> = Promise.resolve()
  /** The state written last, or being written: saves go one after the other, each of the whole state. */
  private saving: Promise<void> = Promise.resolve()
  /** The save waiting for the one being written, if any. */
  private queuedSave: Promise<void> | undefined

  constructor (deps: OwnerDeps, catalogue: CatalogueService, settings: RepairSettings, now: () => number = Date.now) {
    this.deps = deps
    this.catalogue = catalogue
    this.settings = settings
    this.now = now
    this.estimate = durabilityEstimator({ repairAfterMs: settings.repairAfterMs, auditEveryMs: settings.auditEveryMs ?? DEFAULT_CONFIG.auditEvery })
  }

  /** Takes back the state saved before a restart (before the first round). */
  async restore (options?: AbortOptions): Promise<void> {
    const state = await this.settings.state?.load(options)
    if (state === undefined) return
    for (const peer of state.distrusted) this.distrusted.add(peer)
    for (const [peer, at] of Object.entries(state.renewedAt ?? {})) this.renewedAt.set(peer, Math.max(at, this.renewedAt.get(peer) ?? 0))
    for (const [peer, ids] of Object.entries(state.lapsedInGap ?? {})) this.lapsedInGap.set(peer, new Set([...this.lapsedInGap.get(peer) ?? [], ...ids]))
    for (const { peer, fileId, batch, ids } of state.deletions) this.forget(peer, fileId, ids, batch)
    this.repairedShards += state.repairedShards
    this.audits.passed += state.audits.passed
    this.audits.failed += state.audits.failed
  }

  /**
   * The owner's lease renewal asked `peer` at `at` to renew every record it keeps there,
   * and `peer` answered every request, holding no record of `missing` (chunk ids): until
   * a lease's length after it, a piece `peer` says it has no record of was lost by it,
   * unless that renewal came after a gap and found the piece missing.
   */
  renewedOn (peer: string, at: number, missing: Iterable<string>): void {
    const before = this.renewedAt.get(peer)
    if (before !== undefined && at - before >= this.leaseMs()) this.lapsedInGap.set(peer, new Set([...this.lapsedInGap.get(peer) ?? [], ...missing]))
    this.renewedAt.set(peer, Math.max(at, before ?? 0))
    void this.save()
  }

  private leaseMs (): number {
    return this.settings.leaseDurationMs ?? DEFAULT_CONFIG.leaseDuration
  }

  /**
   * Whether piece `index` of `manifest` that `peer` has no record of may have expired
   * there: no renewal on `peer` for a lease's length now, or the renewal after a gap
   * that long found it missing. Without a renewal known, it was lost.
   */
  private mayHaveLapsed (peer: string, manifest: Manifest, index: number): boolean {
    const at = this.renewedAt.get(peer)
    if (at === undefined) return false
    if (this.now() - at >= this.leaseMs()) return true
    const id = manifest.chunks[index]?.id
    return id !== undefined && this.lapsedInGap.get(peer)?.has(id) === true
  }

  /** Whether an audit caught `peer`: it is chosen for nothing any more. */
  distrusts (peer: string): boolean {
    return this.distrusted.has(peer)
  }

  /** The daemon's round: every file, audited, repaired where due, deletions retried. */
  async sweep (options?: AbortOptions): Promise<FileCheck[]> {
    const catalogue = await this.catalogue.loaded(options)
    if (catalogue === undefined) return []
    return this.check(undefined, { ...options, repair: true, entries: catalogue.entries })
  }

  /**
   * Audits (and with `repair`, repairs) the files `ref` names, or every file. Rounds
   * never overlap: one that is asked for while another runs waits for it.
   */
  async check (ref: string | undefined, options: AbortOptions & { repair: boolean, entries?: CatalogueEntry[] }): Promise<FileCheck[]> {
    const round = this.turn.then(async () => this.round(ref, options))
    this.turn = round.catch(() => {})
    return round
  }

  /** Health per file id, from the manifests read so far and who is live now. */
  async healthOf (entries: readonly CatalogueEntry[], options?: AbortOptions): Promise<Map<string, FileHealth>> {
    return new Map([...await this.stateOf(entries, options)].map(([id, s]) => [id, s.health]))
  }

  /**
   * Health and a durability estimate per file id (docs/durability.md): the loss model
   * from the file's health now, its usable holders' departure rates as the peer book
   * observed them, and this service's repair timers.
   */
  async stateOf (entries: readonly CatalogueEntry[], options?: AbortOptions): Promise<Map<string, { health: FileHealth, durability: FileDurability }>> {
    if (entries.every((e) => !this.manifests.has(e.fileId))) return new Map()
    await this.refreshLiveness(options)
    const now = this.now()
    const state = new Map<string, { health: FileHealth, durability: FileDurability }>()
    for (const e of entries) {
      const manifest = this.manifests.get(e.fileId)
      if (manifest === undefined || state.has(e.fileId)) continue
      const usable = this.usable(e.fileId)
      const health = fileHealth(manifest, usable)
      const holders = [...new Set(manifest.holders.flat())].filter((p) => usable(p, 0)).flatMap((p) => this.peers.get(p) ?? [])
      state.set(e.fileId, { health, durability: this.estimate(health, holders, now) })
    }
    return state
  }

  queue (): RepairQueue {
    let degraded = 0
    let waiting = 0
    for (const [fileId, manifest] of this.manifests) {
      const usable = this.usable(fileId)
      const lost = this.lost(fileId)
      const health = fileHealth(manifest, usable)
      if (health.healthy >= health.total) continue
      degraded++
      if (manifest.erasure !== undefined && slotsToRepair(manifest, usable, lost, manifest.erasure.data).size === 0) waiting++
    }
    return {
      files: this.manifests.size, degraded, waiting, running: [...this.running], deletions: this.deletions.size,
      distrusted: [...this.distrusted], repairedShards: this.repairedShards, repairBytes: this.settings.budget.bytesTaken(), audits: { ...this.audits }, ...(this.lastSweepAt === undefined ? {} : { lastSweepAt: this.lastSweepAt })
    }
  }

  private async round (ref: string | undefined, options: AbortOptions & { repair: boolean, entries?: CatalogueEntry[] }): Promise<FileCheck[]> {
    const all = options.entries ?? (await this.catalogue.load(options)).entries
    const chosen = ref === undefined ? all : resolveReference(all, ref).entries
    // one check per file, however many versions hold it
    // and one per pack: its files are one replicated piece (pack.ts), audited and copied once
    const files = onePerPack([...new Map(chosen.filter((e) => e.kind === 'file').map((e) => [e.fileId, e])).values()])
    if (ref === undefined) this.dropRemoved(files)
    return PeerSessions.using(this.deps.federation, options, async (sessions) => {
      await this.refreshLiveness(options)
      await this.retryDeletions(sessions)
      await this.save()
      const checks = await inParallel(this.mostUrgentFirst(files), this.settings.concurrency, async (entry) => this.checkFile(entry, sessions, options.repair))
      this.lastSweepAt = this.now()
      return checks
    })
  }

  /**
   * Forgets the manifests of files the catalogue no longer names (removed, forgotten,
   * rotated away), and how long peers only they named have been away: they are neither
   * health nor memory to keep, and a removed file must not count as degraded.
   */
  private dropRemoved (files: readonly CatalogueEntry[]): void {
    const named = new Set(files.map((e) => e.fileId))
    for (const fileId of this.manifests.keys()) if (!named.has(fileId)) this.manifests.delete(fileId)
    for (const fileId of this.lapsed.keys()) if (!named.has(fileId)) this.lapsed.delete(fileId)
    for (const key of this.unanswered.keys()) if (!named.has(key.slice(key.indexOf(' ') + 1))) this.unanswered.delete(key)
    const known = new Set([...this.manifests.values()].flatMap((m) => m.holders.flat()))
    for (const peer of this.missingSince.keys()) if (!known.has(peer)) this.missingSince.delete(peer)
  }

  /**
   * The files with the fewest shards to spare first: a round that rebuilds a lost
   * holder's terabyte takes hours, and a file down to k must not wait behind files that
   * can still lose one (the loss model's urgent repair, docs/durability.md). Files no
   * round has read yet keep catalogue order, after those known to be degraded; a file
   * below k comes after every one a rebuild can reach.
   */
  private mostUrgentFirst (files: CatalogueEntry[]): CatalogueEntry[] {
    const spare = (entry: CatalogueEntry): number => {
      const manifest = this.manifests.get(entry.fileId)
      if (manifest === undefined) return Infinity
      const health = fileHealth(manifest, this.usable(entry.fileId))
      if (health.healthy >= health.total) return Infinity
      // below k nothing can be rebuilt until a holder returns: after every file that can be
      return health.healthy < health.needed ? Number.MAX_SAFE_INTEGER : health.healthy - health.needed
    }
    return files.map((entry, i) => ({ entry, i, spare: spare(entry) }))
      .sort((a, b) => a.spare - b.spare || a.i - b.i)
      .map((f) => f.entry)
  }

  private async checkFile (entry: CatalogueEntry, sessions: PeerSessions, repair: boolean): Promise<FileCheck> {
    const check: FileCheck = { fileId: entry.fileId, name: entry.name, audited: 0, failed: 0, repaired: 0 }
    const fileId = parseFileId(entry.fileId)
    const caps = ownerFileCapabilities(this.deps.master, fileId)
    this.running.add(entry.name)
    let secret: bigint | undefined
    try {
      // a batched file not shared yet has no manifest: its entry says what one would
      let manifest = this.cachedManifest(entry) ?? (lacksManifest(entry) ? impliedDataManifest(this.deps.master, entry) : await readManifest(this.deps.federation, sessions, this.deps.log, {
        fileId, read: caps.read, ...(entry.manifest === undefined ? {} : { manifest: entry.manifest }), cache: this.deps.manifestCache
      }))
      if (manifest === undefined) return { ...check, error: 'no holder the catalogue names has its manifest' }
      this.manifests.set(entry.fileId, manifest)
      // a file of a batch keeps its data under the batch's secret, not its own
      secret = dataSecretOf(caps.read, manifest)
      const holders = [...new Set(manifest.holders.flat())].filter((p) => this.live.has(p) && !this.distrusted.has(p))
      const outcomes = await auditHolders(manifest, holders, secret, sessions, this.settings.auditSample, this.deps.log)
      for (const peer of holders) {
        const answered = outcomes.some((o) => o.peer === peer && o.verdict !== 'unreachable')
        const key = `${peer} ${entry.fileId}`
        if (answered) this.unanswered.delete(key)
        else if (outcomes.some((o) => o.peer === peer) && !this.unanswered.has(key)) this.unanswered.set(key, this.now())
      }
      for (const outcome of outcomes) {
        if (outcome.verdict === 'unreachable') continue
        check.audited++
        if (outcome.verdict !== 'failed') this.audits.passed++
        if (outcome.verdict === 'failed' && outcome.notFound === true && this.mayHaveLapsed(outcome.peer, manifest, outcome.index)) {
          // an honest holder collects what the owner stopped renewing: its pieces are re-placed, it is not distrusted
          check.expired = (check.expired ?? 0) + 1
          this.deps.log.warn(`${outcome.peer} no longer has ${entry.name}: the owner did not renew its leases there for a lease's length; its pieces are placed again`)
          this.lapsed.set(entry.fileId, new Set([...this.lapsed.get(entry.fileId) ?? [], outcome.peer]))
        } else if (outcome.verdict === 'failed') {
          check.failed++
          this.audits.failed++
          if (!this.distrusted.has(outcome.peer)) this.deps.log.warn(`${outcome.peer} failed the audit of ${entry.name} (${outcome.reason ?? ''}): its pieces are rebuilt elsewhere and it is chosen for nothing more`)
          this.distrusted.add(outcome.peer)
        }
      }
      if (repair) {
        const repaired = await this.repairFile(entry, manifest, sessions)
        manifest = repaired.manifest
        check.repaired = repaired.shards
      }
      return {
        ...check, ...fileHealth(manifest, this.usable(entry.fileId)), revision: manifest.revision,
        scheme: manifest.erasure === undefined ? `${Math.max(0, ...manifest.holders.map((h) => h.length))} copies` : formatScheme(manifest.erasure)
      }
    } catch (err) {
      this.deps.log.warn(`checking ${entry.name} failed: ${(err as Error).message}`)
      return { ...check, error: (err as Error).message }
    } finally {
      this.running.delete(entry.name)
      // what this file's audit and repair changed (distrust, pieces to delete) before the next file
      await this.save()
      if (secret !== undefined) await sessions.release(secret)
    }
  }

  /** Saves the state as it is now, after the saves before it; a failed save is logged, and the next one carries it. */
  private async save (): Promise<void> {
    const store = this.settings.state
    if (store === undefined) return
    // a save not begun yet takes the state as it is when it begins: callers meanwhile
    // (a lease round's renewals, one per holder) share it instead of each writing it whole
    if (this.queuedSave !== undefined) return this.queuedSave
    const queued = this.saving.then(async () => {
      this.queuedSave = undefined
      const state: RepairState = {
        distrusted: [...this.distrusted],
        deletions: [...this.deletions.values()].map((d) => ({ peer: d.peer, fileId: d.fileId, ids: [...d.ids], ...(d.batch === undefined ? {} : { batch: d.batch }) })),
        repairedShards: this.repairedShards,
        audits: { ...this.audits },
        renewedAt: Object.fromEntries(this.renewedAt),
        lapsedInGap: Object.fromEntries([...this.lapsedInGap].map(([peer, ids]) => [peer, [...ids]]))
      }
      await store.save(state).catch((err: Error) => this.deps.log.warn(`saving the repair state failed: ${err.message}`))
    })
    this.queuedSave = queued
    this.saving = queued
    await queued
  }

  /**
   * Rebuilds (erasure-coded) or copies (replicated) what is due onto new holders, stores
   * the new manifest revision and records it in the catalogue.
   */
  private async repairFile (entry: CatalogueEntry, manifest: Manifest, sessions: PeerSessions): Promise<{ manifest: Manifest, shards: number }> {
    const usable = this.usable(entry.fileId)
    const lost = this.lost(entry.fileId)
    const erasure = manifest.erasure
    if (erasure !== undefined && this.deps.codec === undefined) return { manifest, shards: 0 }
    // an erasure-coded file repairs slots (shard j of every stripe), a replicated one holders
    const due: Array<number | string> = erasure !== undefined ? [...slotsToRepair(manifest, usable, lost, erasure.data)] : [...holdersToReplace(manifest, usable, lost)]
    if (due.length === 0) return { manifest, shards: 0 }
    const candidates = await this.deps.federation.candidates({ signal: sessions.signal })
    const taken = new Set([...manifest.holders.flat(), ...this.distrusted])
    const perHolder = erasure === undefined ? manifest.size : (manifest.chunks.length / (erasure.data + erasure.parity)) * manifest.chunkSize
    // the holders that stay count against the subnet and site caps: a repair must not
    // gather a file in one subnet that a put would have spread
    const staying = candidates.filter((c) => taken.has(c.peerId) && usable(c.peerId, 0) && !due.includes(c.peerId))
    const { holders: fresh } = choosePlacement(candidates.filter((c) => this.live.has(c.peerId)), {
      replicas: due.length,
      neededBytes: perHolder,
      exclude: taken,
      placed: staying,
      // the operator's placement settings, as a put draws by them
      ...(this.deps.placement === undefined ? {} : { policy: this.deps.placement }),
      ...(erasure === undefined ? {} : { maxPerSubnet: erasure.parity })
    })
    if (fresh.length === 0) {
      this.deps.log.warn(`${entry.name} needs ${due.length} new holder(s) and the federation has none to spare`)
      return { manifest, shards: 0 }
    }
    // a file of a batch keeps its records under the batch's commitments and is read from
    // the holders its catalogue entry names
    const batch = entry.batch === undefined ? undefined : batchOf(this.deps.master, entry.batch)
    const file = fileKeysOf(ownerFileCapabilities(this.deps.master, parseFileId(entry.fileId)), batch)
    const common = { manifest, file, usable, sessions, budget: this.settings.budget, log: this.deps.log }
    const placed = due.slice(0, fresh.length).map((d, i) => [d, fresh[i]!] as const)
    const rebuilt = erasure !== undefined
      ? await rebuildShards({ ...common, targets: new Map(placed as Array<readonly [number, string]>), codec: this.deps.codec! })
      : await copyReplicas({ ...common, targets: new Map(placed as Array<readonly [string, string]>), secret: batch?.readSecret ?? retrievalSecret(file.caps.read.readRoot) })
    if (rebuilt.shards === 0) return { manifest, shards: 0 }
    const next: Manifest = { ...rebuilt.manifest, revision: manifest.revision + 1 }
    const keepers = [...new Set(next.holders.flat())].filter((p) => this.live.has(p) && !this.distrusted.has(p))
    const pack = entry.chunks?.[0]?.pack
    if (pack !== undefined) {
      // a pack has no manifest: every file of it names its new holders
      const holders = [...next.holders[0]!]
      await this.catalogue.update((entries) => entries.map((e) => e.chunks?.[0]?.pack?.id === pack.id ? { ...e, chunks: [{ ...e.chunks[0]!, holders }] } : e), { sessions })
    } else {
      const stored = await storeManifest(this.deps, sessions, { path: '', name: entry.name, size: next.size, mode: next.mode, mtimeMs: next.mtimeMs, replicas: 1 }, file, next, keepers)
      const refs = stored.ids.map((id) => ({ id, holders: [...stored.holders.keys()] }))
      const chunks = batch === undefined ? {} : { chunks: next.chunks.map((c, i) => ({ id: c.id, holders: [...next.holders[i]!] })) }
      await this.catalogue.update((entries) => entries.map((e) => e.fileId === entry.fileId ? { ...e, manifest: refs, ...chunks } : e), { sessions })
    }
    this.manifests.set(entry.fileId, next)
    // holders the new revision no longer names are done with: an expired one may take new pieces of the file again
    const named = new Set(next.holders.flat())
    const lapsed = [...this.lapsed.get(entry.fileId) ?? []].filter((p) => named.has(p))
    if (lapsed.length > 0) this.lapsed.set(entry.fileId, new Set(lapsed))
    else this.lapsed.delete(entry.fileId)
    this.repairedShards += rebuilt.shards
    for (const [peer, ids] of rebuilt.replaced) this.forget(peer, entry.fileId, ids, batch?.id)
    // the earlier revision's pieces go from everyone who had them: the new ones have other ids
    for (const ref of entry.manifest ?? []) for (const peer of ref.holders) this.forget(peer, entry.fileId, [ref.id], batch?.id)
    const scheme = erasure === undefined ? 'copies' : `shard(s) of ${formatScheme(erasure)}`
    this.deps.log.info(`repaired ${entry.name}: ${rebuilt.shards} ${scheme} placed on ${[...new Set(placed.map(([, p]) => p))].join(', ')}; manifest revision ${next.revision}`)
    return { manifest: next, shards: rebuilt.shards }
  }

  /**
   * The manifest a round read of `entry` before, if it still says where the entry's
   * data is: a packed file that was shared since stores its chunk alone, and a pack
   * checked through one of its files must not stand for another file later.
   */
  private cachedManifest (entry: CatalogueEntry): Manifest | undefined {
    const cached = this.manifests.get(entry.fileId)
    if (cached === undefined || !lacksManifest(entry)) return cached
    const data = storedDataOf(entry)
    return cached.chunks.length === data.length && cached.chunks.every((c, i) => c.id === data[i]!.id) ? cached : undefined
  }

  private forget (peer: string, fileId: string, ids: Iterable<string>, batch?: string): void {
    const key = `${peer} ${fileId} ${batch ?? ''}`
    const pending = this.deletions.get(key) ?? { peer, fileId, ...(batch === undefined ? {} : { batch }), ids: new Set<string>() }
    for (const id of ids) pending.ids.add(id)
    this.deletions.set(key, pending)
  }

  /** Deletes replaced pieces from old holders that answer now; the rest wait for a later round. */
  private async retryDeletions (sessions: PeerSessions): Promise<void> {
    await Promise.all([...this.deletions].filter(([, d]) => this.live.has(d.peer)).map(async ([key, d]) => {
      const deleteSecret = d.batch === undefined ? ownerFileCapabilities(this.deps.master, parseFileId(d.fileId)).deleteSecret : batchOf(this.deps.master, d.batch).deleteSecret
      try {
        await deletePieces(sessions, d.peer, [...d.ids], deleteSecret)
        this.deletions.delete(key)
      } catch (err) {
        this.deps.log.debug(`deleting replaced pieces from ${d.peer} failed: ${(err as Error).message}; retried next round`)
      } finally {
        await sessions.release(deleteSecret)
      }
    }))
  }

  private async refreshLiveness (options?: AbortOptions): Promise<void> {
    const candidates = await this.deps.federation.candidates(options)
    const live = new Set(candidates.map((c) => c.peerId))
    this.peers = new Map(candidates.map((c) => [c.peerId, c]))
    const now = this.now()
    const known = new Set([...this.manifests.values()].flatMap((m) => m.holders.flat()))
    for (const peer of known) {
      if (live.has(peer)) this.missingSince.delete(peer)
      else if (!this.missingSince.has(peer)) this.missingSince.set(peer, now)
    }
    this.live = live
  }

  /** Holders whose pieces of file `fileId` can be read: live, not caught, and (for that file) not expired. */
  private usable (fileId: string): Usable {
    const lapsed = this.lapsed.get(fileId)
    return (peer) => this.live.has(peer) && !this.distrusted.has(peer) && lapsed?.has(peer) !== true && !this.evades(peer, fileId)
  }

  /** Whether `peer` has answered no audit of file `fileId` for repairAfter. */
  private evades (peer: string, fileId: string): boolean {
    const since = this.unanswered.get(`${peer} ${fileId}`)
    return since !== undefined && this.now() - since >= this.settings.repairAfterMs
  }

  /** Gone for good (for file `fileId`): caught by an audit, expired, evading its audits, or away longer than repairAfter. */
  private lost (fileId: string): Usable {
    const now = this.now()
    const lapsed = this.lapsed.get(fileId)
    return (peer) => this.distrusted.has(peer) || lapsed?.has(peer) === true || this.evades(peer, fileId) || now - (this.missingSince.get(peer) ?? now) >= this.settings.repairAfterMs
  }
}

/** `files` with one file kept per pack, the first of it: the others are checked with it. */
function onePerPack (files: CatalogueEntry[]): CatalogueEntry[] {
  const seen = new Set<string>()
  return files.filter((e) => {
    const pack = e.chunks?.[0]?.pack?.id
    if (pack === undefined) return true
    if (seen.has(pack)) return false
    seen.add(pack)
    return true
  })
}

/**
 * What a round audits and copies of a batched file without a manifest: its chunks, or
 * for a packed file its pack, as one piece of up to PACK_MAX_BYTES (the catalogue does
 * not say how long a pack is; the bound only weighs placement and the repair budget).
 */
function impliedDataManifest (master: Uint8Array, entry: CatalogueEntry): Manifest {
  if (!isPacked(entry)) return impliedManifest(master, entry)
  return impliedManifest(master, { ...entry, size: PACK_MAX_BYTES, chunks: storedDataOf(entry) })
}
