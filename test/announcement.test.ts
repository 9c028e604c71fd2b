import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { SignedMessage } from '@libp2p/gossipsub'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { signAnnouncement } from '../src/adapters/libp2p/announcement-signature.ts'
import { judgeAnnouncement, type AnnouncementRules } from '../src/adapters/libp2p/announcement-validator.ts'
import {
  ANNOUNCEMENT_LIMITS, decodeSignedAnnouncement, encodeSignedAnnouncement, signedBytes, type Announcement
} from '../src/domain/membership/announcement.ts'
import { announcement } from './conformance/peer-book.suite.ts'

const NOW = 1_800_000_000_000

async function identity (): Promise<{ key: PrivateKey, id: string }> {
  const key = await generateKeyPair('Ed25519')
  return { key, id: peerIdFromPrivateKey(key).toString() }
}

/** A gossipsub message as the router hands it to a topic validator. */
function message (author: PrivateKey, data: Uint8Array): SignedMessage {
  const from = peerIdFromPrivateKey(author)
  return { type: 'signed', from, topic: '/quloud/quloud/announce/1', data, sequenceNumber: 1n, signature: new Uint8Array(64), key: author.publicKey }
}

function rules (over: Partial<AnnouncementRules> = {}): AnnouncementRules {
  return {
    federation: 'quloud',
    proofSystemId: 'ps-1',
    selfPeerId: '12D3KooWSelfSelfSelfSelfSelfSelfSelfSelfSelfSelfSelf',
    windowMs: 60_000,
    now: () => NOW,
    known: async () => undefined,
    ...over
  }
}

async function signedData (key: PrivateKey, a: Announcement): Promise<Uint8Array> {
  return encodeSignedAnnouncement(await signAnnouncement(key, a))
}

describe('announcement codec', () => {
  it('round-trips and signs canonical bytes', async () => {
    const { key, id } = await identity()
    const a = announcement(id, { timestamp: NOW, addresses: [`/ip4/10.0.0.1/tcp/4101/p2p/${id}`] })
    const data = await signedData(key, a)
    const decoded = decodeSignedAnnouncement(data)
    assert.deepEqual(decoded.announcement, a)
    assert.equal(new TextDecoder().decode(signedBytes(a)).split('\n')[1], JSON.stringify(a), 'schema order is the canonical order')
    assert.ok(await key.publicKey.verify(signedBytes(a), decoded.signature))
  })

  it('rejects anything off the schema', async () => {
    const { key, id } = await identity()
    const stranger = await identity()
    const good = JSON.parse(new TextDecoder().decode(await signedData(key, announcement(id))))
    const bad = (mutate: (m: any) => void): Uint8Array => {
      const copy = structuredClone(good)
      mutate(copy)
      return new TextEncoder().encode(JSON.stringify(copy))
    }
    const cases: Array<[string, Uint8Array]> = [
      ['not json', new TextEncoder().encode('{')],
      ['version', bad((m) => { m.v = 2 })],
      ['extra envelope field', bad((m) => { m.x = 1 })],
      ['extra field', bad((m) => { m.announcement.admin = true })],
      ['missing field', bad((m) => { delete m.announcement.free })],
      ['free > capacity', bad((m) => { m.announcement.free = m.announcement.capacity + 1 })],
      ['negative', bad((m) => { m.announcement.uptime = -1 })],
      ['fraction', bad((m) => { m.announcement.capacity = 1.5 })],
      ['non-ASCII', bad((m) => { m.announcement.software = 'quloud/é' })],
      ['quote', bad((m) => { m.announcement.protocols = ['a"b'] })],
      ['bad multiaddr', bad((m) => { m.announcement.addresses = ['/nope'] })],
      ['address of another peer', bad((m) => { m.announcement.addresses = [`/ip4/1.2.3.4/tcp/1/p2p/${stranger.id}`] })],
      ['too many addresses', bad((m) => { m.announcement.addresses = Array.from({ length: 17 }, (_, i) => `/ip4/10.0.0.${i}/tcp/1`) })],
      ['bad federation', bad((m) => { m.announcement.federation = 'Not A Name' })],
      ['bad signature encoding', bad((m) => { m.signature = 'not base64!' })],
      ['too large', new Uint8Array(ANNOUNCEMENT_LIMITS.maxBytes + 1)]
    ]
    for (const [name, data] of cases) {
      assert.throws(() => decodeSignedAnnouncement(data), { name: 'InvalidAnnouncementError' }, name)
    }
  })
})

describe('announcement validator', () => {
  it('accepts a correct announcement', async () => {
    const { key, id } = await identity()
    const verdict = await judgeAnnouncement(message(key, await signedData(key, announcement(id, { timestamp: NOW }))), rules())
    assert.equal(verdict.result, 'accept')
  })

  it('rejects a wrong signature', async () => {
    const { key, id } = await identity()
    const other = await identity()
    const a = announcement(id, { timestamp: NOW })
    // signed by another key, published by the announced peer
    const forged = encodeSignedAnnouncement({ announcement: a, signature: (await signAnnouncement(other.key, a)).signature })
    assert.deepEqual(await judgeAnnouncement(message(key, forged), rules()), { result: 'reject', reason: 'bad announcement signature' })
    // a signature over other content
    const tampered = encodeSignedAnnouncement({ announcement: { ...a, free: 1 }, signature: (await signAnnouncement(key, a)).signature })
    assert.equal((await judgeAnnouncement(message(key, tampered), rules())).result, 'reject')
  })

  it('rejects an announcement whose signer is not the claimed peer', async () => {
    const victim = await identity()
    const forger = await identity()
    // the forger claims to be the victim, signing with its own key and gossiping as itself
    const a = announcement(victim.id, { timestamp: NOW })
    const claimed = await signedData(forger.key, a)
    const verdict = await judgeAnnouncement(message(forger.key, claimed), rules())
    assert.equal(verdict.result, 'reject')
    assert.match((verdict as { reason: string }).reason, /gossip author/)
    // replaying the victim's genuine announcement under another gossip author
    const genuine = await signedData(victim.key, a)
    assert.equal((await judgeAnnouncement(message(forger.key, genuine), rules())).result, 'reject')
  })

  it('rejects another proof system, federation, a future timestamp, unsigned gossip', async () => {
    const { key, id } = await identity()
    const judge = async (over: Partial<Announcement>) => (await judgeAnnouncement(message(key, await signedData(key, announcement(id, { timestamp: NOW, ...over }))), rules())).result
    assert.equal(await judge({ proofSystem: 'ps-2' }), 'reject')
    assert.equal(await judge({ federation: 'other' }), 'reject')
    assert.equal(await judge({ timestamp: NOW + 60_001 }), 'reject')
    assert.equal(await judge({ timestamp: NOW + 59_000 }), 'accept')
    const unsigned = { type: 'unsigned' as const, topic: 't', data: await signedData(key, announcement(id, { timestamp: NOW })) }
    assert.equal((await judgeAnnouncement(unsigned, rules())).result, 'reject')
  })

  it('ignores stale, already-superseded and own announcements; marks peers not in the book as unknown', async () => {
    const { key, id } = await identity()
    const data = async (timestamp: number) => signedData(key, announcement(id, { timestamp }))
    assert.equal((await judgeAnnouncement(message(key, await data(NOW - 60_001)), rules())).result, 'ignore')
    assert.equal((await judgeAnnouncement(message(key, await data(NOW)), rules({ known: async () => ({ timestamp: NOW }) }))).result, 'ignore')
    const newer = await judgeAnnouncement(message(key, await data(NOW)), rules({ known: async () => ({ timestamp: NOW - 1 }) }))
    assert.equal(newer.result, 'accept')
    assert.equal(newer.result === 'accept' && newer.known, true)
    assert.equal((await judgeAnnouncement(message(key, await data(NOW)), rules({ selfPeerId: id }))).result, 'ignore')
    const unknown = await judgeAnnouncement(message(key, await data(NOW)), rules())
    assert.equal(unknown.result === 'accept' && unknown.known, false, 'valid, but only a claim until the peer answers a dial')
    const noOffer = await judgeAnnouncement(message(key, await data(NOW)), rules({ known: async () => ({ timestamp: undefined }) }))
    assert.equal(noOffer.result === 'accept' && noOffer.known, true)
  })
})

describe('version 2 announcements: the declared site', () => {
  const signedV2 = async (key: PrivateKey, a: Announcement): Promise<Uint8Array> => encodeSignedAnnouncement(await signAnnouncement(key, a, 2))

  it('carries a site, or none, and round-trips; the site is signed', async () => {
    const { key, id } = await identity()
    for (const a of [announcement(id, { timestamp: NOW, site: 'home-berlin' }), announcement(id, { timestamp: NOW })]) {
      const decoded = decodeSignedAnnouncement(await signedV2(key, a), 2)
      assert.deepEqual(decoded.announcement, a)
      assert.equal(decoded.version, 2)
      assert.equal(await judgeAnnouncement(message(key, await signedV2(key, a)), rules(), 2).then((v) => v.result), 'accept')
    }
    // an attacker relaying the node's genuine version 2 with another site: the signature no longer holds
    const genuine = await signAnnouncement(key, announcement(id, { timestamp: NOW, site: 'home-berlin' }), 2)
    const moved = encodeSignedAnnouncement({ ...genuine, announcement: { ...genuine.announcement, site: 'attacker-flat' } })
    assert.deepEqual(await judgeAnnouncement(message(key, moved), rules(), 2), { result: 'reject', reason: 'bad announcement signature' })
    // nor can the site be dropped: the version 2 bytes without it sign differently
    const dropped = encodeSignedAnnouncement({ ...genuine, announcement: announcement(id, { timestamp: NOW }) })
    assert.equal((await judgeAnnouncement(message(key, dropped), rules(), 2)).result, 'reject')
  })

  it('rejects a site off the rule, a site in version 1, and each version on the other\'s topic', async () => {
    const { key, id } = await identity()
    const good = JSON.parse(new TextDecoder().decode(await signedV2(key, announcement(id, { timestamp: NOW, site: 'home-berlin' }))))
    for (const site of ['', 'Home-Berlin', 'home berlin', '-home', 'a'.repeat(33), 'é', 7]) {
      const copy = structuredClone(good)
      copy.announcement.site = site
      assert.throws(() => decodeSignedAnnouncement(new TextEncoder().encode(JSON.stringify(copy)), 2), { name: 'InvalidAnnouncementError' }, JSON.stringify(site))
    }
    const inV1 = structuredClone(good)
    inV1.v = 1
    assert.throws(() => decodeSignedAnnouncement(new TextEncoder().encode(JSON.stringify(inV1))), { name: 'InvalidAnnouncementError' })
    assert.throws(() => encodeSignedAnnouncement({ announcement: announcement(id, { site: 'home-berlin' }), signature: new Uint8Array(64) }), { name: 'InvalidAnnouncementError' })
    const v1 = await signedData(key, announcement(id, { timestamp: NOW }))
    assert.equal((await judgeAnnouncement(message(key, v1), rules(), 2)).result, 'reject')
    assert.equal((await judgeAnnouncement(message(key, await signedV2(key, announcement(id, { timestamp: NOW }))), rules(), 1)).result, 'reject')
  })

  it('orders version 2 by the last version 2 held, so the twin of a version 1 already recorded is not ignored', async () => {
    const { key, id } = await identity()
    const data = await signedV2(key, announcement(id, { timestamp: NOW, site: 'home-berlin' }))
    const judge = async (held: { timestamp: number, siteTimestamp?: number }) => (await judgeAnnouncement(message(key, data), rules({ known: async () => held }), 2)).result
    assert.equal(await judge({ timestamp: NOW }), 'accept', 'its version 1 twin came first')
    assert.equal(await judge({ timestamp: NOW, siteTimestamp: NOW - 1 }), 'accept')
    assert.equal(await judge({ timestamp: NOW, siteTimestamp: NOW }), 'ignore', 'a replay')
    assert.equal(await judge({ timestamp: NOW - 5, siteTimestamp: NOW + 1 }), 'ignore')
  })
})
