import { checkAnnouncement, isPeerIdString, type Announcement, type AnnouncementVersion } from '../../domain/membership/announcement.ts'
import { compareLivePeers, livePeer, type LivePeer, type PeerEntry, type ProbeResult } from '../../domain/membership/peer-entry.ts'
import { ClosedError, InvalidInputError, throwIfAborted } from '../../errors.ts'
import type { ListLiveOptions } from '../../ports/peer-book.ts'

/** The argument checks every PeerBook adapter makes before touching its medium. */
export function checkCall (closed: boolean, peerId: string | undefined, signal?: AbortSignal): void {
  if (closed) throw new ClosedError('the peer book is closed')
  throwIfAborted(signal)
  if (peerId !== undefined && !isPeerIdString(peerId)) {
    throw new InvalidInputError(`not a peer id: ${JSON.stringify(String(peerId).slice(0, 80))}`)
  }
}

/** An admission needs a successful probe with a real time: a peer that did not answer is never recorded. */
export function checkAdmission (announcement: Announcement, probe: ProbeResult): void {
  checkAnnouncementInput(announcement)
  if (probe?.ok !== true || !Number.isFinite(probe.at)) throw new InvalidInputError('a peer is admitted only with a successful probe')
}

export function checkAnnouncementInput (announcement: Announcement, version?: AnnouncementVersion): void {
  try {
    checkAnnouncement(announcement, version)
  } catch (err) {
    throw new InvalidInputError(`not a valid announcement: ${(err as Error).message}`, { cause: err })
  }
}

/** The `listLive` selection and order, shared so adapters cannot drift apart. */
export function selectLive (entries: Iterable<PeerEntry>, options?: ListLiveOptions): LivePeer[] {
  const live: LivePeer[] = []
  for (const entry of entries) {
    const peer = livePeer(entry, options?.proofSystemId)
    if (peer !== undefined && peer.free >= (options?.minFree ?? 0)) live.push(peer)
  }
  return live.sort(compareLivePeers)
}
