import { Level } from 'level'
import type { Announcement } from '../../domain/membership/announcement.ts'
import { admissionOf, isStale, type AdmissionPolicy, type AdmitResult } from '../../domain/membership/peer-book-policy.ts'
import { applyAdmission, applyAnnouncement, applyProbe, type LivePeer, type LivenessPolicy, type PeerEntry, type ProbeResult } from '../../domain/membership/peer-entry.ts'
import { NotFoundError, StorageError } from '../../errors.ts'
import type { AbortOptions } from '../../ports/abort-options.ts'
import type { ListLiveOptions, PeerBook, RecordAnnouncementOptions } from '../../ports/peer-book.ts'
import { KeyedMutex } from '../../util/keyed-mutex.ts'
import { checkAdmission, checkAnnouncementInput, checkCall, selectLive } from './checks.ts'
import { PendingWork } from '../../util/pending-work.ts'

export interface LevelPeerBookInit {
  /** Directory of the LevelDB database (`peers/` in the data directory). */
  location: string
}

// p!<peerId> -> PeerEntry as JSON
const PEER = 'p!'
/** The lock admissions take, one at a time, so the count they check stays true; never a peer id. */
const ADMISSIONS = '!admissions'

/**
 * PeerBook on LevelDB. Each change is a read-modify-write of one JSON value under a
 * per-peer lock. Writes are not fsynced: the book is soft state that a crash may set
 * back by a few probes, never corrupt (LevelDB's log is append-only).
 */
export class LevelPeerBook implements PeerBook {
  private readonly db: Level<string, string>
  private readonly writes = new KeyedMutex()
  private readonly pending = new PendingWork()
  private closed = false

  private constructor (db: Level<string, string>) {
    this.db = db
  }

  static async open (init: LevelPeerBookInit): Promise<LevelPeerBook> {
    const db = new Level<string, string>(init.location, { keyEncoding: 'utf8', valueEncoding: 'utf8' })
    await level(() => db.open())
    return new LevelPeerBook(db)
  }

  async admit (announcement: Announcement, probe: ProbeResult, policy: AdmissionPolicy, options?: AbortOptions): Promise<AdmitResult> {
    checkCall(this.closed, undefined, options?.signal)
    checkAdmission(announcement, probe)
    // admissions lock first, then peers': nothing else takes the admissions lock, so no cycle
    return this.pending.track(this.writes.run(ADMISSIONS, async () => this.writes.run(announcement.peerId, async () => {
      checkCall(this.closed, undefined, options?.signal)
      const known = await this.read(announcement.peerId)
      let evicted: string | undefined
      // the whole book is read only when a cap may bind: a full book, or a subnet to count
      if (known === undefined && (probe.subnet !== undefined || await this.count(options) >= policy.maxPeers)) {
        const decision = admissionOf(await this.list(options), probe.subnet, policy)
        if (!decision.admitted) return { admitted: false }
        evicted = decision.evict
        if (evicted !== undefined) await this.writes.run(evicted, async () => level(() => this.db.del(PEER + evicted)))
      }
      await this.write(applyAdmission(known, announcement, probe))
      return evicted === undefined ? { admitted: true } : { admitted: true, evicted }
    })))
  }

  async recordAnnouncement (announcement: Announcement, receivedAt: number, options?: RecordAnnouncementOptions): Promise<boolean> {
    checkCall(this.closed, undefined, options?.signal)
    checkAnnouncementInput(announcement, options?.version)
    return this.pending.track(this.writes.run(announcement.peerId, async () => {
      checkCall(this.closed, undefined, options?.signal)
      const known = await this.read(announcement.peerId)
      const next = known === undefined ? undefined : applyAnnouncement(known, announcement, receivedAt, options?.version)
      if (next === undefined) return false
      await this.write(next)
      return true
    }))
  }

  async recordProbe (peerId: string, probe: ProbeResult, policy: LivenessPolicy, options?: AbortOptions): Promise<PeerEntry> {
    checkCall(this.closed, peerId, options?.signal)
    return this.pending.track(this.writes.run(peerId, async () => {
      checkCall(this.closed, peerId, options?.signal)
      const next = applyProbe(await this.existing(peerId), probe, policy)
      await this.write(next)
      return next
    }))
  }

  async get (peerId: string, options?: AbortOptions): Promise<PeerEntry> {
    checkCall(this.closed, peerId, options?.signal)
    return this.existing(peerId)
  }

  async list (options?: AbortOptions): Promise<PeerEntry[]> {
    checkCall(this.closed, undefined, options?.signal)
    const entries: PeerEntry[] = []
    // keys are ordered, so entries come out ordered by peer id
    for await (const value of this.db.values({ gt: PEER, lt: PEER + '\xff' })) {
      checkCall(this.closed, undefined, options?.signal)
      entries.push(parse(value))
    }
    return entries
  }

  async listLive (options?: ListLiveOptions): Promise<LivePeer[]> {
    return selectLive(await this.list(options), options)
  }

  async count (options?: AbortOptions): Promise<number> {
    checkCall(this.closed, undefined, options?.signal)
    let n = 0
    for await (const _ of this.db.keys({ gt: PEER, lt: PEER + '\xff' })) n++
    return n
  }

  async remove (peerId: string, options?: AbortOptions): Promise<void> {
    checkCall(this.closed, peerId, options?.signal)
    await this.pending.track(this.writes.run(peerId, async () => level(() => this.db.del(PEER + peerId))))
  }

  async evictStale (now: number, policy: AdmissionPolicy, options?: AbortOptions): Promise<string[]> {
    const removed: string[] = []
    for (const { peerId } of (await this.list(options)).filter((e) => isStale(e, now, policy))) {
      // judged again under the peer's lock: a probe may have answered since the list
      const gone = await this.pending.track(this.writes.run(peerId, async () => {
        const entry = await this.read(peerId)
        if (entry === undefined || !isStale(entry, now, policy)) return false
        await level(() => this.db.del(PEER + peerId))
        return true
      }))
      if (gone) removed.push(peerId)
    }
    return removed
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.pending.settled()
    await level(() => this.db.close())
  }

  private async existing (peerId: string): Promise<PeerEntry> {
    const entry = await this.read(peerId)
    if (entry === undefined) throw new NotFoundError(`peer ${peerId} is not in the peer book`)
    return entry
  }

  private async read (peerId: string): Promise<PeerEntry | undefined> {
    const value = await level(() => this.db.get(PEER + peerId))
    return value === undefined ? undefined : parse(value)
  }

  private async write (entry: PeerEntry): Promise<void> {
    await level(() => this.db.put(PEER + entry.peerId, JSON.stringify(entry)))
  }
}

function parse (value: string): PeerEntry {
  try {
    return JSON.parse(value) as PeerEntry
  } catch (err) {
    throw new StorageError('the peer book holds a value that is not JSON', { cause: err })
  }
}

async function level<T> (fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err: any) {
    throw new StorageError(`LevelDB failed: ${err?.message}`, { cause: err })
  }
}
