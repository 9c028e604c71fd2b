import { TopicValidatorResult, type Message } from '@libp2p/gossipsub'
import { decodeSignedAnnouncement, type Announcement, type AnnouncementVersion } from '../../domain/membership/announcement.ts'
import { verifyAnnouncement } from './announcement-signature.ts'

export interface AnnouncementRules {
  federation: string
  /** Announcements with another proof-system id are rejected. */
  proofSystemId: string
  /** This node; its own messages are ignored. */
  selfPeerId: string
  /** Timestamps further than this from `now` in the past are stale (ignored), in the future rejected. */
  windowMs: number
  now: () => number
  /**
   * Whether the peer is in the book, the timestamp of its last announcement there, and
   * that of its last version 2 announcement (which orders version 2 ones).
   */
  known: (peerId: string) => Promise<{ timestamp: number | undefined, siteTimestamp?: number } | undefined>
}

export type Verdict =
  /** Valid; `known` false for a peer not in the book, which is only a claim until it answers a dial. */
  | { result: typeof TopicValidatorResult.Accept, announcement: Announcement, known: boolean }
  | { result: typeof TopicValidatorResult.Reject | typeof TopicValidatorResult.Ignore, reason: string }

/**
 * Judges one gossip message on the announce topic. Reject (the sender's gossipsub score
 * drops) for anything a correct node never sends: unsigned, malformed, another
 * federation, a signer that is not the announced peer, a bad signature, another
 * proof-system id, a timestamp from the future. Ignore (no penalty) for what a correct
 * node can cause: a stale timestamp, an announcement older than the one held.
 * `version` is the one the message's topic carries; a message of another is malformed.
 */
export async function judgeAnnouncement (message: Message, rules: AnnouncementRules, version: AnnouncementVersion = 1): Promise<Verdict> {
  if (message.type !== 'signed') return reject('unsigned gossip message')
  const from = message.from.toString()
  if (from === rules.selfPeerId) return ignore('own message')
  let signed
  try {
    signed = decodeSignedAnnouncement(message.data, version)
  } catch (err) {
    return reject(`malformed: ${(err as Error).message}`)
  }
  const a = signed.announcement
  if (a.federation !== rules.federation) return reject(`federation ${a.federation}, not ${rules.federation}`)
  if (a.peerId !== from) return reject(`announces ${a.peerId} but gossip author is ${from}`)
  if (!message.key.equals(message.from.publicKey)) return reject('gossip key does not match the author')
  if (!await verifyAnnouncement(signed)) return reject('bad announcement signature')
  if (a.proofSystem !== rules.proofSystemId) return reject(`proof system ${a.proofSystem}, not ${rules.proofSystemId}`)
  const now = rules.now()
  if (a.timestamp > now + rules.windowMs) return reject(`timestamp ${a.timestamp - now} ms in the future`)
  if (a.timestamp < now - rules.windowMs) return ignore(`stale: ${now - a.timestamp} ms old`)
  const held = await rules.known(a.peerId)
  const heldAt = version === 1 ? held?.timestamp : held?.siteTimestamp
  if (heldAt !== undefined && heldAt >= a.timestamp) return ignore('not newer than the announcement held')
  return { result: TopicValidatorResult.Accept, announcement: a, known: held !== undefined }
}

function reject (reason: string): Verdict {
  return { result: TopicValidatorResult.Reject, reason }
}

function ignore (reason: string): Verdict {
  return { result: TopicValidatorResult.Ignore, reason }
}
