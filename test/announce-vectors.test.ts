import assert from 'node:assert/strict'
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { signAnnouncement, verifyAnnouncement } from '../src/adapters/libp2p/announcement-signature.ts'
import { decodeSignedAnnouncement, encodeSignedAnnouncement, signedBytes, type Announcement } from '../src/domain/membership/announcement.ts'
import { announceTopic } from '../src/domain/membership/federation.ts'

interface Vector {
  name: string
  version: 1 | 2
  topic: string
  announcement: Announcement
  signedBytes: string
  signature: string
  message: string
}

const vectors = JSON.parse(readFileSync(new URL('./vectors/announce.json', import.meta.url), 'utf8')) as {
  key: { ed25519Seed: string, peerId: string }
  announcements: Vector[]
}

/** The signed bytes as protocol-spec/announce.md writes them, without the codec: domain, then members in table order. */
function bySpec (v: Vector): string {
  const order = ['federation', 'peerId', 'addresses', 'capacity', 'free', 'proofSystem', 'software', 'protocols', 'uptime', 'timestamp', 'site'] as const
  const a = v.announcement as unknown as Record<string, unknown>
  const members = order.filter((k) => a[k] !== undefined).map((k) => `"${k}":${JSON.stringify(a[k])}`)
  return Buffer.from(`quloud-announce/${v.version}\n{${members.join(',')}}`).toString('hex')
}

/** node:crypto's Ed25519 key from the raw seed (PKCS#8 prefix of RFC 8410), apart from libp2p's. */
function nodeKey (seed: string): ReturnType<typeof createPrivateKey> {
  return createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(seed, 'hex')]), format: 'der', type: 'pkcs8' })
}

describe('published vectors: announcements, versions 1 and 2 (protocol-spec/announce.md)', () => {
  it('the key is the peer id the vectors name', async () => {
    const key = await generateKeyPairFromSeed('Ed25519', Buffer.from(vectors.key.ed25519Seed, 'hex'))
    assert.equal(peerIdFromPrivateKey(key).toString(), vectors.key.peerId)
  })

  for (const v of vectors.announcements) {
    it(`${v.name}: signed bytes, signature, topic and message`, async () => {
      assert.equal(v.topic, announceTopic(v.announcement.federation, v.version))
      assert.equal(bySpec(v), v.signedBytes)
      assert.equal(Buffer.from(signedBytes(v.announcement, v.version)).toString('hex'), v.signedBytes)
      // Ed25519 is deterministic: an independent signer gives the same signature
      const privateKey = nodeKey(vectors.key.ed25519Seed)
      assert.equal(sign(null, Buffer.from(v.signedBytes, 'hex'), privateKey).toString('hex'), v.signature)
      assert.ok(verify(null, Buffer.from(v.signedBytes, 'hex'), createPublicKey(privateKey), Buffer.from(v.signature, 'hex')))
      const decoded = decodeSignedAnnouncement(new TextEncoder().encode(v.message), v.version)
      assert.deepEqual(decoded.announcement, v.announcement)
      assert.equal(Buffer.from(decoded.signature).toString('hex'), v.signature)
      assert.ok(await verifyAnnouncement(decoded))
      const key = await generateKeyPairFromSeed('Ed25519', Buffer.from(vectors.key.ed25519Seed, 'hex'))
      assert.equal(new TextDecoder().decode(encodeSignedAnnouncement(await signAnnouncement(key, v.announcement, v.version))), v.message)
    })
  }

  it('no message is valid in the other version, nor its signature over the other domain', () => {
    for (const v of vectors.announcements) {
      const other = v.version === 1 ? 2 : 1
      assert.throws(() => decodeSignedAnnouncement(new TextEncoder().encode(v.message), other), { name: 'InvalidAnnouncementError' }, v.name)
    }
    const [v1, , v2plain] = vectors.announcements
    assert.deepEqual(v2plain!.announcement, v1!.announcement, 'the same announcement in both versions...')
    assert.notEqual(v2plain!.signature, v1!.signature, '...signs differently: each signature means its version alone')
  })
})
