import type { PeerEntry } from './peer-entry.ts'

/**
 * What the peer book keeps, and what it drops. An attacker mints peer ids for free,
 * so the book admits only peers that answered a dial, never grows past `maxPeers`,
 * and, when full, lets a newcomer replace only a dead entry (Kademlia's rule: a peer
 * that has answered for a long time is worth more than one that just arrived).
 */
export interface AdmissionPolicy {
  /** The most entries the book holds. */
  maxPeers: number
  /** An unreachable entry whose last answer is older than this is dropped. */
  staleAfterMs: number
  /**
   * The most entries that answered from one public subnet (ProbeResult.subnet): one
   * host's many identities, all answering, take this many slots and leave the rest.
   */
  maxPerSubnet?: number
}

/** The outcome of an admission. */
export interface AdmitResult {
  /** True when the peer is in the book afterwards. */
  admitted: boolean
  /** The dead entry removed to make room, if any. */
  evicted?: string
}

/**
 * Whether an entry is to be dropped at `now`: unreachable and silent for the policy's
 * stale time, or never having answered a probe at all (entries from before admission
 * required an answer).
 */
export function isStale (entry: PeerEntry, now: number, policy: AdmissionPolicy): boolean {
  const { liveness } = entry
  if (liveness.reachable) return false
  if (liveness.successes === 0 && liveness.probes > 0) return true
  return now - (liveness.lastSuccess ?? entry.firstSeen) >= policy.staleAfterMs
}

/**
 * The entry a newcomer may replace in a full book, or undefined when every entry is
 * reachable (the newcomer is then refused). Among the unreachable, the one silent
 * longest goes first; ties by peer id, so adapters agree.
 */
export function evictionVictim (entries: Iterable<PeerEntry>): string | undefined {
  let victim: PeerEntry | undefined
  let victimSilentSince = Infinity
  for (const entry of entries) {
    if (entry.liveness.reachable) continue
    const since = entry.liveness.lastSuccess ?? -Infinity
    if (since < victimSilentSince || (since === victimSilentSince && victim !== undefined && entry.peerId < victim.peerId)) {
      victim = entry
      victimSilentSince = since
    }
  }
  return victim?.peerId
}

/**
 * Whether a newcomer that answered from `subnet` may enter a book holding `entries`,
 * and which dead entry it replaces: when the book is full, any unreachable one; when
 * its subnet holds `maxPerSubnet` entries already, an unreachable one of that subnet
 * (which frees a slot of the book too). Refused when no such entry exists.
 */
export function admissionOf (entries: readonly PeerEntry[], subnet: string | undefined, policy: AdmissionPolicy): { admitted: boolean, evict?: string } {
  const max = policy.maxPerSubnet
  if (subnet !== undefined && max !== undefined) {
    const neighbours = entries.filter((e) => e.subnet === subnet)
    if (neighbours.length >= max) {
      const evict = evictionVictim(neighbours)
      return evict === undefined ? { admitted: false } : { admitted: true, evict }
    }
  }
  if (entries.length < policy.maxPeers) return { admitted: true }
  const evict = evictionVictim(entries)
  return evict === undefined ? { admitted: false } : { admitted: true, evict }
}
