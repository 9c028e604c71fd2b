import { peerIdFromString } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { signedBytes, type Announcement, type AnnouncementVersion, type SignedAnnouncement } from '../../domain/membership/announcement.ts'

/** Signs an announcement of `version` with the node's libp2p identity key (Ed25519). */
export async function signAnnouncement (privateKey: PrivateKey, announcement: Announcement, version: AnnouncementVersion = 1): Promise<SignedAnnouncement> {
  return { announcement, signature: await privateKey.sign(signedBytes(announcement, version)), version }
}

/**
 * True when the signature was made by the key of `announcement.peerId`. The key comes
 * from the peer id itself (Ed25519 and secp256k1 ids embed it); ids that do not embed
 * a key (RSA) cannot announce.
 */
export async function verifyAnnouncement (signed: SignedAnnouncement): Promise<boolean> {
  let publicKey
  try {
    publicKey = peerIdFromString(signed.announcement.peerId).publicKey
  } catch {
    return false
  }
  if (publicKey === undefined) return false
  try {
    return await publicKey.verify(signedBytes(signed.announcement, signed.version), signed.signature)
  } catch {
    return false
  }
}
