import type { Announcement, AnnouncementVersion } from './announcement.ts'
import { announceTopic } from './federation.ts'

/** The part of a peer's last accepted announcement that the book keeps. */
export type AnnouncedOffer = Pick<Announcement, 'capacity' | 'free' | 'proofSystem' | 'software' | 'protocols' | 'uptime' | 'timestamp'>

/** What this node measured by pinging a peer. Times are ms since the epoch. */
export interface Liveness {
  /** True after a successful probe, false after the policy's failures or silence. */
  reachable: boolean
  consecutiveFailures: number
  probes: number
  successes: number
  lastProbe: number | null
  lastSuccess: number | null
  lastRttMs: number | null
}

/** Everything the peer book knows about one federation peer. */
export interface PeerEntry {
  peerId: string
  /** Addresses from the peer's last accepted announcement. */
  addresses: string[]
  /**
   * The public subnet it answered its admission dial from (domain/membership/subnet.ts),
   * observed, not announced; absent for private addresses and entries from before.
   */
  subnet?: string
  /** Null until an announcement is accepted (never, for peers added by probing alone). */
  announcement: AnnouncedOffer | null
  /**
   * The site its last version 2 announcement declared (absent: none declared, or no
   * version 2 heard). Self-declared: placement believes it only as far as
   * placement-groups.ts says.
   */
  site?: string
  /** Timestamp of that version 2 announcement: the site moves on its own clock, which version 1 announcements never touch. */
  siteTimestamp?: number
  /** When this node first heard of the peer. */
  firstSeen: number
  /** The last accepted announcement or successful probe. */
  lastSeen: number
  liveness: Liveness
}

/** A peer that placement may choose: reachable and announcing free capacity. */
export interface LivePeer {
  peerId: string
  addresses: string[]
  capacity: number
  free: number
  proofSystem: string
  lastRttMs: number | null
  /** successes / probes, in [0, 1]. */
  uptimeRatio: number
  lastSeen: number
  /** What placement's reputation reads (src/domain/membership/placement.ts). */
  firstSeen: number
  probes: number
  successes: number
  /** PeerEntry.subnet: the public subnet it answered from; absent when private, relayed or not yet probed. */
  subnet?: string
  /** PeerEntry.site: the site it declares, if any. */
  site?: string
}

/** When a peer stops counting as reachable. */
export interface LivenessPolicy {
  /** Unreachable after this many probes in a row have failed. */
  unreachableAfterFailures: number
  /** Unreachable when a probe fails and no probe succeeded for this long. */
  unreachableAfterMs: number
}

export interface ProbeResult {
  /** When the probe finished (ms since the epoch). */
  at: number
  ok: boolean
  /** Round-trip time when ok. */
  rttMs?: number
  /** The public subnet of the connection the peer answered on, when it has one. */
  subnet?: string
}

/**
 * The entry after accepting `announcement` (received at `at`), or undefined when the
 * book already holds an announcement from that peer at least as recent: announcements
 * only move forward, so replays and reordering change nothing.
 *
 * A version 2 announcement sets (or clears) the site alone, against the timestamp of
 * the last version 2 one: a node sends both versions of each announcement with one
 * timestamp, in no guaranteed order of arrival. Were the rest of a version 2 applied,
 * its version 1 twin arriving second would be "not newer", ignored and so not forwarded
 * to the nodes that read version 1 alone; and the version 1 one knows nothing of sites,
 * so it never sets one. It clears one only when it is newer than the site and does not
 * list the version 2 topic in `protocols`: the node went back to a build that cannot
 * declare a site, and a site it can no longer withdraw would group it (strictly, were it
 * trusted) with a place it may have left, for as long as it stays in the book.
 */
export function applyAnnouncement (entry: PeerEntry | undefined, announcement: Announcement, at: number, version: AnnouncementVersion = 1): PeerEntry | undefined {
  if (version === 2) return applySite(entry, announcement, at)
  if (entry?.announcement != null && entry.announcement.timestamp >= announcement.timestamp) return undefined
  const base = entry ?? newEntry(announcement.peerId, at)
  return {
    ...withoutStaleSite(base, announcement),
    addresses: [...announcement.addresses],
    announcement: {
      capacity: announcement.capacity,
      free: announcement.free,
      proofSystem: announcement.proofSystem,
      software: announcement.software,
      protocols: [...announcement.protocols],
      uptime: announcement.uptime,
      timestamp: announcement.timestamp
    },
    lastSeen: Math.max(base.lastSeen, at)
  }
}

function withoutStaleSite (entry: PeerEntry, announcement: Announcement): PeerEntry {
  if (entry.site === undefined || (entry.siteTimestamp ?? -Infinity) >= announcement.timestamp) return entry
  if (announcement.protocols.includes(announceTopic(announcement.federation, 2))) return entry
  const { site: _gone, ...rest } = entry
  // its timestamp keeps a replayed older version 2 from setting the site again
  return { ...rest, siteTimestamp: announcement.timestamp }
}

function applySite (entry: PeerEntry | undefined, announcement: Announcement, at: number): PeerEntry | undefined {
  if (entry?.siteTimestamp !== undefined && entry.siteTimestamp >= announcement.timestamp) return undefined
  const base = entry ?? newEntry(announcement.peerId, at)
  const { site: _held, ...withoutSite } = base
  const { site } = announcement
  return { ...withoutSite, ...(site === undefined ? {} : { site }), siteTimestamp: announcement.timestamp, lastSeen: Math.max(base.lastSeen, at) }
}

/**
 * The entry of a peer that answered a dial after announcing itself (`probe` a
 * success): a new entry first seen then, or the known one with the announcement (if
 * newer) and the success applied.
 */
export function applyAdmission (entry: PeerEntry | undefined, announcement: Announcement, probe: ProbeResult): PeerEntry {
  const announced = applyAnnouncement(entry, announcement, probe.at) ?? entry!
  const admitted = applySuccess(announced, probe)
  return probe.subnet === undefined || admitted.subnet !== undefined ? admitted : { ...admitted, subnet: probe.subnet }
}

/** The entry after one probe, with `reachable` decided by the policy. */
export function applyProbe (entry: PeerEntry, probe: ProbeResult, policy: LivenessPolicy): PeerEntry {
  const before = entry.liveness
  if (probe.ok) return applySuccess(entry, probe)
  const failures = before.consecutiveFailures + 1
  const silentFor = probe.at - (before.lastSuccess ?? entry.firstSeen)
  const gone = failures >= policy.unreachableAfterFailures || silentFor >= policy.unreachableAfterMs
  return {
    ...entry,
    liveness: {
      ...before,
      reachable: before.reachable && !gone,
      consecutiveFailures: failures,
      probes: before.probes + 1,
      lastProbe: probe.at
    }
  }
}

export function newEntry (peerId: string, at: number): PeerEntry {
  return {
    peerId,
    addresses: [],
    announcement: null,
    firstSeen: at,
    lastSeen: at,
    liveness: { reachable: false, consecutiveFailures: 0, probes: 0, successes: 0, lastProbe: null, lastSuccess: null, lastRttMs: null }
  }
}

function applySuccess (entry: PeerEntry, probe: ProbeResult): PeerEntry {
  const before = entry.liveness
  return {
    ...entry,
    lastSeen: Math.max(entry.lastSeen, probe.at),
    liveness: {
      reachable: true,
      consecutiveFailures: 0,
      probes: before.probes + 1,
      successes: before.successes + 1,
      lastProbe: probe.at,
      lastSuccess: probe.at,
      lastRttMs: probe.rttMs ?? null
    }
  }
}

/** successes / probes; 0 before the first probe. */
export function uptimeRatio (liveness: Liveness): number {
  return liveness.probes === 0 ? 0 : liveness.successes / liveness.probes
}

/** The placement view of an entry, or undefined when it is not live. */
export function livePeer (entry: PeerEntry, proofSystemId?: string): LivePeer | undefined {
  const offer = entry.announcement
  if (!entry.liveness.reachable || offer === null) return undefined
  if (proofSystemId !== undefined && offer.proofSystem !== proofSystemId) return undefined
  return {
    peerId: entry.peerId,
    addresses: [...entry.addresses],
    capacity: offer.capacity,
    free: offer.free,
    proofSystem: offer.proofSystem,
    lastRttMs: entry.liveness.lastRttMs,
    uptimeRatio: uptimeRatio(entry.liveness),
    lastSeen: entry.lastSeen,
    firstSeen: entry.firstSeen,
    probes: entry.liveness.probes,
    successes: entry.liveness.successes,
    ...(entry.subnet === undefined ? {} : { subnet: entry.subnet }),
    ...(entry.site === undefined ? {} : { site: entry.site })
  }
}

/** Placement order: most free space first, then lower RTT, then peer id. */
export function compareLivePeers (a: LivePeer, b: LivePeer): number {
  return (b.free - a.free) || ((a.lastRttMs ?? Infinity) - (b.lastRttMs ?? Infinity)) || (a.peerId < b.peerId ? -1 : a.peerId > b.peerId ? 1 : 0)
}
