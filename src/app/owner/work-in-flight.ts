import { randomBytes } from 'node:crypto'
import { retrievalSecret } from '../../domain/crypto/key-derivation.ts'
import { ownerFileCapabilities } from '../../domain/capabilities/file-capabilities.ts'
import { parseFileId } from '../../domain/formats/file-id.ts'
import { DEFAULT_CONFIG } from '../../domain/config/node-config.ts'
import type { AbortOptions } from '../../ports/abort-options.ts'
import type { CatalogueEntry } from '../../domain/formats/catalogue.ts'
import { storedDataOf } from './packed-files.ts'
import type { FileShape, JournalRecord, SentPiece, WorkJournal } from '../../ports/work-journal.ts'
import { batchOf } from './batches.ts'
import type { CatalogueService } from './catalogue-service.ts'
import { deletePieces } from './federation-pieces.ts'
import { PeerSessions } from './peer-sessions.ts'
import { deleteTreeListings } from './tree-share.ts'
import type { OwnerDeps } from './put-file.ts'

/** After this long a delete its holder never came back for is given up (leases reclaim it). */
export const GIVE_UP_AFTER_MS = 30 * 24 * 3600 * 1000

export interface OwnerJournalOptions {
  /**
   * How long what a put stored is kept after the daemon died mid-put, for a re-run of
   * the put to adopt (put-resume.ts); then it is undone like the rest. A put that failed
   * or was cancelled (Ctrl-C) in a running daemon is undone at once. By default the
   * `resumeGrace` setting's (node-config.ts); 0 keeps nothing.
   */
  resumeGraceMs?: number
}

/**
 * The owner's work in flight (ports/work-journal.ts): every `put` journals its batch,
 * each file (and its holders) before a byte of it is sent and its manifest pieces before
 * they are stored; it is marked done once the catalogue generation naming its files is
 * committed. A share journals the manifests and the tree listing it stores before the
 * catalogue records it. An `rm` that could not reach a holder journals what that holder
 * still has. `finish` (a background task of the owner's daemon) then deletes, with the
 * delete secrets, whatever of an unfinished put or share no committed catalogue entry
 * names, and sends the missed deletes once their holder answers. Ops of this process
 * still running are left alone.
 */
export class OwnerJournal {
  readonly journal: WorkJournal
  private readonly active = new Set<string>()
  /** Puts that ended in this process without committing: nothing of them is kept for a resume. */
  private readonly abandoned = new Set<string>()
  /** Puts kept for a resume whose other records were undone already in this process. */
  readonly swept = new Set<string>()
  /**
   * What re-runs under way in this process adopted of cut puts: per `op fileId`, the
   * re-run (ResumeClaims) that has it. No other re-run adopts it, and its op is not
   * undone until that re-run commits or fails (put-resume.ts).
   */
  private readonly claimed = new Map<string, ResumeClaims>()
  /** Files a re-run of this process took over (`took`) or a failed re-run put in the catalogue (`handOver`): never adopted again here. */
  private readonly gone = new Set<string>()
  /** Asks for `finish` to run soon (the daemon's background tasks set it); by default nothing. */
  kick: () => void = () => {}

  private readonly resumeGraceMs: number

  constructor (journal: WorkJournal, options: OwnerJournalOptions = {}) {
    this.journal = journal
    this.resumeGraceMs = options.resumeGraceMs ?? DEFAULT_CONFIG.resumeGrace
  }

  /** Journals the start of a put under `batch`; the caller ends it with `done` or `failed`. */
  async startPut (batch: string, options?: AbortOptions): Promise<PutJournal> {
    return this.begin({ kind: 'put', op: batch, batch, at: Date.now() }, options)
  }

  /**
   * Journals the start of a share (of tree `tree`, when its listing is stored); the caller
   * ends it with `done` once the catalogue records the share, or `failed`.
   */
  async startShare (tree: string | undefined, options?: AbortOptions): Promise<PutJournal> {
    return this.begin({ kind: 'share', op: `share-${randomBytes(16).toString('hex')}`, at: Date.now(), ...(tree === undefined ? {} : { tree }) }, options)
  }

  /** An op of this process from its first record on: `finish` leaves it alone while it runs. */
  private async begin (record: Extract<JournalRecord, { kind: 'put' | 'share' }>, options?: AbortOptions): Promise<PutJournal> {
    this.active.add(record.op)
    await this.journal.append(record, options).catch((err) => {
      this.active.delete(record.op)
      throw err
    })
    return new PutJournal(this, record.op)
  }

  /** Journals what `peer` missed of an rm: deleted by `finish` once it answers. */
  async missedDelete (peer: string, fileId: string, batch: string | undefined, ids: string[]): Promise<void> {
    const op = `rm-${fileId}-${peer}`
    await this.journal.append({ kind: 'delete', op, peer, fileId, ...(batch === undefined ? {} : { batch }), ids, at: Date.now() })
  }

  isActive (op: string): boolean {
    return this.active.has(op)
  }

  /** A re-run's claims on what cut puts stored (put-resume.ts); released when it commits or fails. */
  claims (): ResumeClaims {
    return new ResumeClaims(this)
  }

  /**
   * @internal ResumeClaims'. Whether `by` now has file `fileId` of every cut put `ops`:
   * no other re-run has it under any of them, and none is given up; else nothing is claimed.
   */
  claim (by: ResumeClaims, ops: string[], fileId: string): boolean {
    if (this.gone.has(fileId)) return false
    const keys = ops.map((op) => `${op} ${fileId}`)
    const free = ops.every((op, i) => {
      const holder = this.claimed.get(keys[i]!)
      return holder === undefined ? !this.abandoned.has(op) : holder === by
    })
    if (free) for (const key of keys) this.claimed.set(key, by)
    return free
  }

  /** @internal A re-run took file `fileId` over, or it entered the catalogue: no re-run adopts it after. */
  handOver (fileId: string): void {
    this.gone.add(fileId)
  }

  /** @internal ResumeClaims'. Whether a claim of `by` was dropped. */
  release (by: ResumeClaims): boolean {
    let any = false
    for (const [key, holder] of this.claimed) {
      if (holder !== by) continue
      this.claimed.delete(key)
      any = true
    }
    return any
  }

  /** The cut puts a re-run under way adopted from: `finish` leaves them alone. */
  held (): Set<string> {
    return new Set([...this.claimed.keys()].map((key) => key.slice(0, key.indexOf(' '))))
  }

  /**
   * Whether `finish` keeps what cut put `op` (started at `at`) stored whole, decided once
   * per run before it loads the catalogue: a re-run committing after that is seen at the
   * next run (it kicks one), and a put given up here is never adopted after (`claim`).
   */
  decideKeep (op: string, at: number): boolean {
    const keep = this.keepsForResume(op, at)
    if (!keep) this.abandoned.add(op)
    return keep
  }

  /**
   * Whether what put `op` (started at `at`) finished storing is kept for a re-run to
   * adopt: it was cut by the daemon's death, not failed or cancelled here, and recently.
   */
  keepsForResume (op: string, at: number, now = Date.now()): boolean {
    return !this.abandoned.has(op) && !this.active.has(op) && now - at < this.resumeGraceMs
  }

  /**
   * A re-run adopted files of cut put `op` and committed: the rest of `op` is undone now,
   * not kept for another re-run (an rm of the adopted files must not leave `op` waiting).
   */
  resumed (op: string): void {
    this.abandoned.add(op)
    this.kick()
  }

  /**
   * Every record of the unfinished puts kept for a resume (`keepsForResume`), in one read
   * of the journal: put-resume.ts takes both the files stored whole (`resumableFiles`) and
   * the files sent outside a batch from them.
   */
  async kept (options?: AbortOptions): Promise<JournalRecord[]> {
    const records = await this.journal.read(options)
    const ended = new Set(records.filter((r) => r.kind === 'done').map((r) => r.op))
    const kept = new Set(records.filter((r) => r.kind === 'put' && !ended.has(r.op) && this.keepsForResume(r.op, r.at)).map((r) => r.op))
    return records.filter((r) => kept.has(r.op))
  }

  /** What is in flight now, from the journal (`quloud status`). */
  async queue (options?: AbortOptions): Promise<WorkQueue> {
    const records = await this.journal.read(options)
    const ended = new Set(records.filter((r) => r.kind === 'done').map((r) => r.op))
    const queue: WorkQueue = { running: 0, unfinished: 0, unfinishedFiles: 0, deletes: 0, deleteHolders: 0, deleteRecords: 0 }
    const holders = new Set<string>()
    for (const r of records) {
      if (ended.has(r.op)) continue
      if (r.kind === 'put' || r.kind === 'share') {
        if (this.active.has(r.op)) queue.running++
        else queue.unfinished++
      } else if (r.kind === 'file' && !this.active.has(r.op)) {
        queue.unfinishedFiles++
      } else if (r.kind === 'delete') {
        queue.deletes++
        queue.deleteRecords += r.ids.length
        holders.add(r.peer)
      }
    }
    queue.deleteHolders = holders.size
    return queue
  }

  /** @internal PutJournal's end. */
  settle (op: string, abandoned = false): void {
    this.active.delete(op)
    if (abandoned) this.abandoned.add(op)
  }
}

/**
 * What one re-run adopts of cut puts (OwnerJournal.claim): two re-runs under way at once
 * never adopt one file (two entries would share its chunks, and an rm of one would delete
 * the other's), and a cut put one re-run adopted from is not undone, when another re-run
 * commits, before this one did.
 */
export class ResumeClaims {
  private readonly owner: OwnerJournal

  constructor (owner: OwnerJournal) {
    this.owner = owner
  }

  /** Whether this re-run may adopt file `fileId` of every cut put `ops`: claimed for all, or for none. */
  claim (ops: string[], fileId: string): boolean {
    return this.owner.claim(this, ops, fileId)
  }

  /** The re-run committed or failed: the cut puts it held may be finished (a run of `finish` is asked for). */
  release (): void {
    if (this.owner.release(this)) this.owner.kick()
  }
}

/** A batched file an unfinished put stored whole: its journal record and its batch. */
export type ResumableFile = Extract<JournalRecord, { kind: 'stored' }> & { batch: string }

/** The files the puts of `records` (OwnerJournal.kept) finished storing, for a re-run to adopt (put-resume.ts). */
export function resumableFiles (records: JournalRecord[]): ResumableFile[] {
  const batches = new Map(records.flatMap((r) => r.kind === 'put' ? [[r.op, r.batch] as const] : []))
  return records.flatMap((r) => {
    const batch = batches.get(r.op)
    return r.kind === 'stored' && batch !== undefined ? [{ ...r, batch }] : []
  })
}

/** The journal's open work (OwnerJournal.queue), as `status` shows it. */
export interface WorkQueue {
  /** Puts (and shares) of this daemon under way. */
  running: number
  /** Puts (and shares) that ended without entering the catalogue (Ctrl-C, a killed daemon, a failure): what they sent is deleted in the background. */
  unfinished: number
  /** Files those unfinished puts had begun sending. */
  unfinishedFiles: number
  /** Deletes of an rm that holders have not acknowledged (one per holder and file), sent again when they answer. */
  deletes: number
  /** The holders those deletes wait for. */
  deleteHolders: number
  /** Chunk and manifest records the deletes name. */
  deleteRecords: number
}

/** One put's journal. */
export class PutJournal {
  private readonly owner: OwnerJournal
  readonly op: string

  constructor (owner: OwnerJournal, op: string) {
    this.owner = owner
    this.op = op
  }

  /** `shape`, for a file outside a batch: a re-run after a crash may adopt its `sent` units. */
  async file (fileId: string, batched: boolean, holders: string[], shape?: FileShape): Promise<void> {
    await this.owner.journal.append({ kind: 'file', op: this.op, fileId, batched, holders, ...(shape === undefined ? {} : { shape }) })
  }

  /** Unit `unit` of file `fileId` (outside a batch) is acknowledged: `pieces`, and the keyed hash of its plaintext. */
  async sent (fileId: string, unit: number, hash: string, pieces: SentPiece[]): Promise<void> {
    await this.owner.journal.append({ kind: 'sent', op: this.op, fileId, unit, hash, pieces })
  }

  /** This put takes `fileId` over from the cut puts `ops` (after journaling its own `file` record for it). */
  async took (fileId: string, ops: string[]): Promise<void> {
    if (ops.length > 0) this.owner.handOver(fileId)
    for (const op of ops) if (op !== this.op) await this.owner.journal.append({ kind: 'taken', op, fileId })
  }

  /** What a re-run did not adopt of a cut file (`stale`, per holder): deleted in the background, like an rm's missed deletes. */
  async stale (fileId: string, stale: Map<string, string[]>): Promise<void> {
    for (const [peer, ids] of stale) await this.owner.missedDelete(peer, fileId, undefined, ids)
    if (stale.size > 0) this.owner.kick()
  }

  /** About to store manifest pieces `ids` of `fileId` (on `where.holders`, under `where.batch`'s delete commitment). */
  async manifest (fileId: string, ids: string[], where: { batch?: string | undefined, holders?: string[] } = {}): Promise<void> {
    await this.owner.journal.append({
      kind: 'manifest', op: this.op, fileId, ids, ...(where.batch === undefined ? {} : { batch: where.batch }), ...(where.holders === undefined ? {} : { holders: where.holders })
    })
  }

  /** Every chunk of batched file `entry` is stored: a re-run after a crash may adopt it. */
  async stored (entry: CatalogueEntry): Promise<void> {
    const pack = entry.chunks?.[0]?.pack
    await this.owner.journal.append({
      kind: 'stored', op: this.op, fileId: entry.fileId, size: entry.size, mode: entry.mode, mtimeMs: entry.mtimeMs,
      contentHash: entry.contentHash!, chunks: (entry.chunks ?? []).map((c) => [c.id, [...c.holders]]),
      ...(pack === undefined ? {} : { pack: [pack.id, pack.offset, pack.length] })
    })
  }

  /**
   * The catalogue names everything the put kept: nothing to undo. The op's records are
   * compacted away in the background now, not at the next periodic run: a put of 2,000
   * small files journals ~0.5 MB, which every later put and `status` read again.
   */
  async done (): Promise<void> {
    try {
      await this.owner.journal.append({ kind: 'done', op: this.op })
    } finally {
      this.owner.settle(this.op)
      this.owner.kick()
    }
  }

  /** The put failed: what it sent and the catalogue does not name is undone in the background. */
  failed (): void {
    this.owner.settle(this.op, true)
    this.owner.kick()
  }
}

export interface FinishReport {
  /** Records deleted on holders. */
  deleted: number
  /** Ops still open (a holder did not answer, or a re-run under way holds them): tried again on the next run. */
  pending: number
}

/**
 * Finishes or undoes the journal's open ops (see OwnerJournal) and compacts it.
 * Whatever a committed catalogue entry names is never deleted.
 */
export async function finishWorkInFlight (deps: OwnerDeps, catalogue: CatalogueService, owner: OwnerJournal, options?: AbortOptions): Promise<FinishReport> {
  const records = await owner.journal.read(options)
  const ended = new Set(records.filter((r) => r.kind === 'done').map((r) => r.op))
  // what is finished goes first: a put's done asks for this run, and the undo below may
  // wait on holders that do not answer
  if (ended.size > 0) await owner.journal.compact((r) => !ended.has(r.op), options)
  const held = owner.held()
  const open = new Map<string, JournalRecord[]>()
  // a cut put a re-run under way adopted from waits for it, as a put running does
  const waiting = new Set<string>()
  for (const r of records) {
    if (ended.has(r.op) || owner.isActive(r.op)) continue
    if (held.has(r.op)) waiting.add(r.op)
    else open.set(r.op, [...(open.get(r.op) ?? []), r])
  }
  // decided before the catalogue is loaded: the entries a re-run commits after the load are not in it
  const keep = new Map([...open.values()].flatMap((ofOp) => ofOp.flatMap((r) => r.kind === 'put' ? [[r.op, owner.decideKeep(r.op, r.at)] as const] : [])))
  let deleted = 0
  const finished = new Set<string>()
  let pending = waiting.size
  if (open.size > 0) {
    const sessions = new PeerSessions(deps.federation, options)
    try {
      const entries = (await catalogue.load({ ...options, sessions })).entries
      // a pack is named by its files' entries: it is never undone while one names it
      const named = new Set(entries.flatMap((e) => [...(e.manifest ?? []), ...storedDataOf(e)].map((r) => r.id)))
      const files = new Set(entries.map((e) => e.fileId))
      const live = (await deps.federation.candidates(options)).map((c) => c.peerId)
      for (const [op, ofOp] of open) {
        const undo = keep.has(op)
          ? undoPut(deps, sessions, owner, ofOp, keep.get(op)!, named, files, live)
          : ofOp.some((r) => r.kind === 'share') ? undoShare(deps, sessions, ofOp, named, entries, live) : redoDeletes(deps, sessions, ofOp, named)
        const { removed, complete } = await undo
        deleted += removed
        if (complete) {
          await owner.journal.append({ kind: 'done', op }, options)
          finished.add(op)
        } else {
          pending++
        }
      }
    } finally {
      await sessions.close()
    }
  }
  // an op's records go with its done record; a done another op appended meanwhile kicked the next run
  if (finished.size > 0) await owner.journal.compact((r) => !finished.has(r.op), options)
  if (deleted > 0) deps.log.info(`work in flight: deleted ${deleted} record(s) no catalogue entry names`)
  return { deleted, pending }
}

interface Undone { removed: number, complete: boolean }

/** Deletes, on every holder a put journaled, what of it no committed entry names. */
async function undoPut (deps: OwnerDeps, sessions: PeerSessions, owner: OwnerJournal, records: JournalRecord[], keep: boolean, committed: Set<string>, files: Set<string>, live: string[]): Promise<Undone> {
  const put = records.find((r): r is Extract<JournalRecord, { kind: 'put' }> => r.kind === 'put')!
  const batch = batchOf(deps.master, put.batch)
  // what a put the daemon's death cut stored is kept a while for a re-run to adopt: batched
  // files stored whole, and the acknowledged units of files outside a batch; the rest (a
  // batched file cut mid-way, its chunks sealed under fresh nonces and never named again)
  // is undone once, and the put looked at again after the grace (`keep`, OwnerJournal.decideKeep)
  // a file a re-run took over is that re-run's to finish or undo
  const taken = new Set(records.flatMap((r) => r.kind === 'taken' ? [r.fileId] : []))
  const waiting = keep
    ? records.filter((r): r is Extract<JournalRecord, { kind: 'stored' }> => r.kind === 'stored' && !keptIdsOf(r).every((id) => committed.has(id)))
    : []
  // so are the acknowledged units of files sent outside a batch (put-resume.ts CutFile)
  const partial = new Set(keep ? records.flatMap((r) => r.kind === 'sent' && !files.has(r.fileId) && !taken.has(r.fileId) ? [r.fileId] : []) : [])
  const resting = waiting.length > 0 || partial.size > 0
  if (resting && owner.swept.has(put.op)) return { removed: 0, complete: false }
  const named = waiting.length === 0 ? committed : new Set([...committed, ...waiting.flatMap(keptIdsOf)])
  const sent = records.filter((r): r is Extract<JournalRecord, { kind: 'file' }> => r.kind === 'file' && !taken.has(r.fileId))
  const manifests = new Map<string, string[]>()
  for (const r of records) if (r.kind === 'manifest') manifests.set(r.fileId, [...(manifests.get(r.fileId) ?? []), ...r.ids])
  // an erasure-coded file journals no holders (its shards are placed stripe by stripe): every live peer is asked
  const holdersOf = (f: Extract<JournalRecord, { kind: 'file' }>): string[] => f.holders.length > 0 ? f.holders : live
  const peers = [...new Set(sent.flatMap(holdersOf))]
  let removed = 0
  let complete = true
  const stray = (ids: string[]): string[] => ids.filter((id) => !named.has(id))
  for (const peer of peers) {
    try {
      if (sent.some((f) => f.batched && holdersOf(f).includes(peer))) {
        removed += await deletePieces(sessions, peer, stray(await sessions.list(peer, batch.readSecret)), batch.deleteSecret)
      }
      for (const f of sent.filter((f) => !files.has(f.fileId) && !partial.has(f.fileId) && holdersOf(f).includes(peer))) {
        const caps = ownerFileCapabilities(deps.master, parseFileId(f.fileId))
        const own = f.batched ? [] : await sessions.list(peer, retrievalSecret(caps.read.readRoot))
        removed += await deletePieces(sessions, peer, stray([...(manifests.get(f.fileId) ?? []), ...own]), f.batched ? batch.deleteSecret : caps.deleteSecret)
      }
    } catch (err) {
      deps.log.debug(`undoing an unfinished put on ${peer} failed: ${(err as Error).message}; tried again later`)
      // a holder gone for good: its leases reclaim the rest
      if (Date.now() - put.at < GIVE_UP_AFTER_MS) complete = false
    }
  }
  if (resting) {
    if (complete) owner.swept.add(put.op)
    return { removed, complete: false }
  }
  return { removed, complete }
}

/**
 * Deletes what a share stored and no committed catalogue generation records: the
 * manifest pieces of its batched files the catalogue does not name, and the tree's
 * listing when the tree has no share recorded (the listing is stored at a first share).
 */
async function undoShare (deps: OwnerDeps, sessions: PeerSessions, records: JournalRecord[], named: Set<string>, entries: CatalogueEntry[], live: string[]): Promise<Undone> {
  const share = records.find((r): r is Extract<JournalRecord, { kind: 'share' }> => r.kind === 'share')!
  const young = Date.now() - share.at < GIVE_UP_AFTER_MS
  let removed = 0
  let complete = true
  for (const r of records) {
    if (r.kind !== 'manifest') continue
    const stray = r.ids.filter((id) => !named.has(id))
    if (stray.length === 0) continue
    const secret = r.batch === undefined ? ownerFileCapabilities(deps.master, parseFileId(r.fileId)).deleteSecret : batchOf(deps.master, r.batch).deleteSecret
    for (const peer of r.holders ?? live) {
      try {
        removed += await deletePieces(sessions, peer, stray, secret)
      } catch (err) {
        deps.log.debug(`undoing a share's manifest on ${peer} failed: ${(err as Error).message}; tried again later`)
        if (young) complete = false
      }
    }
  }
  if (share.tree !== undefined && !entries.some((e) => e.fileId === share.tree && (e.shares?.length ?? 0) > 0)) {
    // a holder that does not answer keeps its copy of the listing until its lease lapses
    removed += await deleteTreeListings(deps, sessions, { fileId: share.tree, name: `the tree ${share.tree}` })
  }
  return { removed, complete }
}

/** Sends the deletes an rm could not, to holders that answer now. */
async function redoDeletes (deps: OwnerDeps, sessions: PeerSessions, records: JournalRecord[], named: Set<string>): Promise<Undone> {
  let removed = 0
  let complete = true
  for (const r of records) {
    if (r.kind !== 'delete') continue
    const secret = r.batch === undefined ? ownerFileCapabilities(deps.master, parseFileId(r.fileId)).deleteSecret : batchOf(deps.master, r.batch).deleteSecret
    const young = Date.now() - r.at < GIVE_UP_AFTER_MS
    // still named: the rm has not committed its catalogue yet (or never will): wait and see
    if (r.ids.some((id) => named.has(id)) && young) complete = false
    try {
      removed += await deletePieces(sessions, r.peer, r.ids.filter((id) => !named.has(id)), secret)
    } catch (err) {
      deps.log.debug(`a missed delete on ${r.peer} failed again: ${(err as Error).message}`)
      if (young) complete = false
    }
  }
  return { removed, complete }
}

/** The ids a file stored whole keeps on its holders: its pack's, or its chunks'. */
function keptIdsOf (record: Extract<JournalRecord, { kind: 'stored' }>): string[] {
  return record.pack === undefined ? record.chunks.map(([id]) => id) : [record.pack[0]]
}
