import type { Announcement } from '../../domain/membership/announcement.ts'
import { admissionOf, isStale, type AdmissionPolicy, type AdmitResult } from '../../domain/membership/peer-book-policy.ts'
import { applyAdmission, applyAnnouncement, applyProbe, type LivePeer, type LivenessPolicy, type PeerEntry, type ProbeResult } from '../../domain/membership/peer-entry.ts'
import { NotFoundError } from '../../errors.ts'
import type { AbortOptions } from '../../ports/abort-options.ts'
import type { ListLiveOptions, PeerBook, RecordAnnouncementOptions } from '../../ports/peer-book.ts'
import { checkAdmission, checkAnnouncementInput, checkCall, selectLive } from './checks.ts'

/** A PeerBook in process memory: for tests and throwaway nodes. */
export class MemoryPeerBook implements PeerBook {
  private readonly entries = new Map<string, PeerEntry>()
  private closed = false

  async admit (announcement: Announcement, probe: ProbeResult, policy: AdmissionPolicy, options?: AbortOptions): Promise<AdmitResult> {
    checkCall(this.closed, undefined, options?.signal)
    checkAdmission(announcement, probe)
    const known = this.entries.get(announcement.peerId)
    let evicted: string | undefined
    if (known === undefined) {
      const decision = admissionOf([...this.entries.values()], probe.subnet, policy)
      if (!decision.admitted) return { admitted: false }
      evicted = decision.evict
      if (evicted !== undefined) this.entries.delete(evicted)
    }
    this.entries.set(announcement.peerId, applyAdmission(known, announcement, probe))
    return evicted === undefined ? { admitted: true } : { admitted: true, evicted }
  }

  async recordAnnouncement (announcement: Announcement, receivedAt: number, options?: RecordAnnouncementOptions): Promise<boolean> {
    checkCall(this.closed, undefined, options?.signal)
    checkAnnouncementInput(announcement, options?.version)
    const known = this.entries.get(announcement.peerId)
    const next = known === undefined ? undefined : applyAnnouncement(known, announcement, receivedAt, options?.version)
    if (next === undefined) return false
    this.entries.set(next.peerId, structuredClone(next))
    return true
  }

  async recordProbe (peerId: string, probe: ProbeResult, policy: LivenessPolicy, options?: AbortOptions): Promise<PeerEntry> {
    checkCall(this.closed, peerId, options?.signal)
    const next = applyProbe(this.existing(peerId), probe, policy)
    this.entries.set(peerId, next)
    return structuredClone(next)
  }

  async get (peerId: string, options?: AbortOptions): Promise<PeerEntry> {
    checkCall(this.closed, peerId, options?.signal)
    return structuredClone(this.existing(peerId))
  }

  async list (options?: AbortOptions): Promise<PeerEntry[]> {
    checkCall(this.closed, undefined, options?.signal)
    return [...this.entries.values()].sort((a, b) => a.peerId < b.peerId ? -1 : 1).map((e) => structuredClone(e))
  }

  async listLive (options?: ListLiveOptions): Promise<LivePeer[]> {
    checkCall(this.closed, undefined, options?.signal)
    return selectLive(this.entries.values(), options)
  }

  async count (options?: AbortOptions): Promise<number> {
    checkCall(this.closed, undefined, options?.signal)
    return this.entries.size
  }

  async remove (peerId: string, options?: AbortOptions): Promise<void> {
    checkCall(this.closed, peerId, options?.signal)
    this.entries.delete(peerId)
  }

  async evictStale (now: number, policy: AdmissionPolicy, options?: AbortOptions): Promise<string[]> {
    checkCall(this.closed, undefined, options?.signal)
    const stale = [...this.entries.values()].filter((e) => isStale(e, now, policy)).map((e) => e.peerId)
    for (const peerId of stale) this.entries.delete(peerId)
    return stale.sort()
  }

  async close (): Promise<void> {
    this.closed = true
  }

  private existing (peerId: string): PeerEntry {
    const entry = this.entries.get(peerId)
    if (entry === undefined) throw new NotFoundError(`peer ${peerId} is not in the peer book`)
    return entry
  }
}
