import type { Announcement } from '../../domain/membership/announcement.ts'
import { applyAnnouncement, applyProbe, type LivePeer, type LivenessPolicy, type PeerEntry, type ProbeResult } from '../../domain/membership/peer-entry.ts'
import { NotFoundError } from '../../errors.ts'
import type { AbortOptions } from '../../ports/abort-options.ts'
import type { ListLiveOptions, PeerBook } from '../../ports/peer-book.ts'
import { checkAnnouncementInput, checkCall, selectLive } from './checks.ts'

/** A PeerBook in process memory: for tests and throwaway nodes. */
export class MemoryPeerBook implements PeerBook {
  private readonly entries = new Map<string, PeerEntry>()
  private closed = false

  async recordAnnouncement (announcement: Announcement, receivedAt: number, options?: AbortOptions): Promise<boolean> {
    checkCall(this.closed, undefined, options?.signal)
    checkAnnouncementInput(announcement)
    const next = applyAnnouncement(this.entries.get(announcement.peerId), announcement, receivedAt)
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

  async close (): Promise<void> {
    this.closed = true
  }

  private existing (peerId: string): PeerEntry {
    const entry = this.entries.get(peerId)
    if (entry === undefined) throw new NotFoundError(`peer ${peerId} is not in the peer book`)
    return entry
  }
}
