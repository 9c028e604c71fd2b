import type { Announcement, AnnouncementVersion } from '../domain/membership/announcement.ts'
import type { LivePeer, LivenessPolicy, PeerEntry, ProbeResult } from '../domain/membership/peer-entry.ts'
import type { AdmissionPolicy, AdmitResult } from '../domain/membership/peer-book-policy.ts'
import type { AbortOptions } from './abort-options.ts'

export type { AdmissionPolicy, AdmitResult } from '../domain/membership/peer-book-policy.ts'
export type { AnnouncedOffer, LivePeer, Liveness, LivenessPolicy, PeerEntry, ProbeResult } from '../domain/membership/peer-entry.ts'

export interface ListLiveOptions extends AbortOptions {
  /** Only peers whose last announcement carries this proof-system id. */
  proofSystemId?: string
  /** Only peers announcing at least this many free bytes. */
  minFree?: number
}

export interface RecordAnnouncementOptions extends AbortOptions {
  /** The version of the message it came in (protocol-spec/announce.md); absent: 1. */
  version?: AnnouncementVersion
}

/**
 * PeerBook: every federation peer that answered this node's dial after announcing
 * itself, with what it offered and how it answered pings. Placement chooses from
 * `listLive`; the book is what this node persists and forwards, so nothing enters it
 * on a peer's word alone (an announcement is a claim until a dial answers).
 *
 * The book stores facts; it does not check signatures, federation or proof-system ids
 * (the announcement validator does that before anything reaches the book). It does
 * enforce the schema and the ordering rules below.
 *
 * Contract, tested for every adapter by test/conformance/peer-book.suite.ts:
 * - `admit` records a peer that just answered a dial (`probe.ok` must be true, else
 *   InvalidInputError): a new entry (firstSeen = lastSeen = probe.at, reachable, one
 *   successful probe), or, for a peer already in the book, the announcement (as
 *   `recordAnnouncement`) and the probe applied. A new peer in a book holding
 *   `policy.maxPeers` entries replaces the entry `evictionVictim` names (an
 *   unreachable one, silent longest) or, when every entry is reachable, is refused:
 *   `{ admitted: false }` and nothing changes. The book never exceeds `maxPeers`, even
 *   under concurrent admissions.
 * - `recordAnnouncement` updates a peer already in the book: addresses and the offer
 *   are replaced, lastSeen moves to receivedAt if later, liveness is untouched. It
 *   resolves `false` and changes nothing for a peer not in the book, or when the book
 *   holds an announcement from that peer with the same or a later timestamp (replays
 *   and reordered deliveries never move a peer back in time), `true` otherwise.
 *   An announcement that fails the schema (`checkAnnouncement`) rejects with
 *   InvalidInputError and changes nothing (in `admit` too).
 *   A version 2 announcement (`options.version`) sets the entry's `site` alone (or
 *   removes it when it declares none) and moves lastSeen, ordered against the last
 *   version 2 one: it resolves `false` only when the book holds a version 2
 *   announcement at least as recent. Its other fields change nothing: they are its
 *   version 1 twin's. Version 1 announcements never change the site. (A node sends
 *   both versions with one timestamp; either may arrive first.)
 * - `evictStale` removes every entry `isStale` names at `now` and resolves to their ids.
 * - `recordProbe` applies one ping outcome with `applyProbe` (src/domain/membership/peer-entry.ts):
 *   success sets reachable, resets consecutive failures, counts the success and RTT;
 *   failure counts, and clears reachable once the policy's failure count or silence
 *   is reached. It resolves to the updated entry; an unknown peer rejects with
 *   NotFoundError (probing never creates peers).
 * - `get` resolves to a copy of the entry (mutating it changes nothing stored) or
 *   rejects with NotFoundError. Peer ids failing `isPeerIdString` reject with
 *   InvalidInputError in every method.
 * - `list` resolves to every entry, ordered by peer id. `listLive` resolves to the
 *   peers that are reachable and have an announcement (optionally filtered by
 *   proof-system id and free bytes), most free bytes first, then lower RTT, then peer id.
 * - `remove` is idempotent. `count` is the number of entries.
 * - Concurrent calls for the same peer are applied one after the other; none is lost.
 * - Durable adapters keep everything across close and reopen.
 * - Every method checks its AbortSignal before any effect and rejects with AbortError.
 *   After `close` (idempotent) methods reject with ClosedError.
 * - Medium failures reject with StorageError carrying the native error as `cause`.
 */
export interface PeerBook {
  admit (announcement: Announcement, probe: ProbeResult, policy: AdmissionPolicy, options?: AbortOptions): Promise<AdmitResult>
  recordAnnouncement (announcement: Announcement, receivedAt: number, options?: RecordAnnouncementOptions): Promise<boolean>
  recordProbe (peerId: string, probe: ProbeResult, policy: LivenessPolicy, options?: AbortOptions): Promise<PeerEntry>
  get (peerId: string, options?: AbortOptions): Promise<PeerEntry>
  list (options?: AbortOptions): Promise<PeerEntry[]>
  /** The peers placement may choose from, with their free capacity. */
  listLive (options?: ListLiveOptions): Promise<LivePeer[]>
  count (options?: AbortOptions): Promise<number>
  remove (peerId: string, options?: AbortOptions): Promise<void>
  evictStale (now: number, policy: AdmissionPolicy, options?: AbortOptions): Promise<string[]>
  close (): Promise<void>
}
