import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { StrictSign } from '@libp2p/gossipsub'
// gossipsub's own message builder: the attacker signs each gossip message with a fresh key, as a real forger would
import { buildRawMessage } from '../node_modules/@libp2p/gossipsub/dist/src/utils/buildRawMessage.js'
import { getPublishConfigFromPeerId } from '../node_modules/@libp2p/gossipsub/dist/src/utils/publishConfig.js'
import { signAnnouncement } from '../src/adapters/libp2p/announcement-signature.ts'
import { createHost } from '../src/adapters/libp2p/create-host.ts'
import { federationHostOptions, type FederationServices } from '../src/adapters/libp2p/federation-services.ts'
import { silentLoggerFactory } from '../src/adapters/logging/stderr-logger.ts'
import { MemoryPeerBook } from '../src/adapters/peer-book/memory-peer-book.ts'
import { startMembership, type FederationHost, type Membership } from '../src/assembly/membership.ts'
import { encodeSignedAnnouncement, type Announcement } from '../src/domain/membership/announcement.ts'
import { announceTopic } from '../src/domain/membership/federation.ts'
import { DEFAULT_CONFIG, type NodeConfig } from '../src/domain/config/node-config.ts'
import { waitFor } from './helpers/wait-for.ts'

const FEDERATION = `eclipse-${randomBytes(4).toString('hex')}`
const TOPIC = announceTopic(FEDERATION)
const FORGED = 1000
const CAP = 50

const config = (over: Partial<NodeConfig> = {}): NodeConfig => ({
  ...DEFAULT_CONFIG,
  listen: ['/ip4/127.0.0.1/tcp/0'],
  federation: FEDERATION,
  mdns: false,
  dhtMode: 'server',
  announceInterval: 60_000,
  livenessInterval: 1000,
  pingTimeout: 2000,
  discoveryInterval: 60_000,
  peerBookSize: CAP,
  ...over
})

async function member (): Promise<Membership> {
  return startMembership({
    privateKey: await generateKeyPair('Ed25519'),
    config: config(),
    book: new MemoryPeerBook(),
    proofSystemId: 'ps-test',
    freeBytes: async () => 1000,
    startedAt: new Date(),
    loggers: silentLoggerFactory
  })
}

/** A bare gossip host on `topic`, connected to `victim` and in its mesh view: the forger's relay. */
async function attackerOn (topic: string, victim: Membership): Promise<FederationHost> {
  const attacker = await createHost<FederationServices>({
    privateKey: await generateKeyPair('Ed25519'),
    listen: ['/ip4/127.0.0.1/tcp/0'],
    publicAddresses: [],
    ...federationHostOptions({ ...config(), onDiscovered: undefined })
  }) as FederationHost
  try {
    await attacker.start()
    attacker.services.pubsub.subscribe(topic)
    await attacker.dial(victim.host.getMultiaddrs()[0]!)
    await waitFor(() => attacker.services.pubsub.getSubscribers(topic).some((p) => p.equals(victim.host.peerId)),
      { what: `the attacker to see the victim on ${topic}`, timeoutMs: 30_000 })
    return attacker
  } catch (err) {
    await attacker.stop()
    throw err
  }
}

function forgedAnnouncement (key: PrivateKey): Announcement {
  return {
    federation: FEDERATION,
    peerId: peerIdFromPrivateKey(key).toString(),
    // nothing listens there: a forged id never answers a dial
    addresses: ['/ip4/127.0.0.1/tcp/1'],
    capacity: 8e15,
    free: 8e15,
    proofSystem: 'ps-test',
    software: 'quloud/0.1.0',
    protocols: [],
    uptime: 1_000_000,
    timestamp: Date.now()
  }
}

describe('peer-book eclipse: 1,000 forged identities over one gossip connection', { timeout: 120_000 }, () => {
  let victim: Membership
  let bystander: Membership
  let newcomer: Membership | undefined
  let attacker: FederationHost
  const forgedIds = new Set<string>()

  before(async () => {
    victim = await member()
    bystander = await member()
    await bystander.host.dial(victim.host.getMultiaddrs()[0]!)
    attacker = await attackerOn(TOPIC, victim)
  })

  after(async () => {
    await Promise.all([victim, bystander, newcomer].map(async (m) => m?.stop()))
    await attacker?.stop()
  })

  it('keeps an honest newcomer, stays within its cap, never records or forwards the forged ids, and the relayer pays', async () => {
    const pubsub = attacker.services.pubsub as unknown as { sendRpc (to: string, rpc: unknown): boolean }
    const to = victim.host.peerId.toString()
    for (let batch = 0; batch < FORGED / 50; batch++) {
      const messages = []
      for (let i = 0; i < 50; i++) {
        const key = await generateKeyPair('Ed25519')
        const a = forgedAnnouncement(key)
        forgedIds.add(a.peerId)
        const data = encodeSignedAnnouncement(await signAnnouncement(key, a))
        messages.push((await buildRawMessage(getPublishConfigFromPeerId(StrictSign, peerIdFromPrivateKey(key), key), TOPIC, data, data)).raw)
      }
      assert.equal(pubsub.sendRpc(to, { subscriptions: [], messages }), true, 'the RPC went out')
    }
    const score = (): number => (victim.host.services.pubsub as unknown as { getScore (id: string): number }).getScore(attacker.peerId.toString())
    const judged = async (): Promise<number> => { const s = (await victim.peers()).announcements; return s.rejected + s.ignored }
    // on a loaded machine a heartbeat may come mid-flood: below the graylist threshold (-80) gossipsub drops the rest unread
    await waitFor(async () => await judged() >= FORGED || score() <= -80, { what: 'every forged announcement judged, or the relayer graylisted', timeoutMs: 60_000 })

    // the honest newcomer joins after the flood
    newcomer = await member()
    await newcomer.host.dial(victim.host.getMultiaddrs()[0]!)
    const honest = newcomer.host.peerId.toString()
    await waitFor(async () => (await victim.peers()).peers.some((p) => p.peerId === honest && p.liveness.reachable),
      { what: 'the honest newcomer in the victim\'s book', timeoutMs: 30_000 })

    const { peers, announcements } = await victim.peers()
    assert.ok(peers.length <= CAP, `the book holds ${peers.length} entries, cap ${CAP}`)
    assert.equal(peers.filter((p) => forgedIds.has(p.peerId)).length, 0, 'no forged id is recorded')
    assert.equal((await victim.livePeers()).filter((p) => forgedIds.has(p.peerId)).length, 0, 'no forged id is a placement candidate')
    assert.ok(announcements.rejected > 0, `rejected ${announcements.rejected}: more new ids than a book holds`)
    assert.ok(announcements.ignored <= CAP + 4, `ignored ${announcements.ignored}: up to the flood limit, then rejected`)
    assert.ok((announcements.dialled ?? 0) <= DEFAULT_CONFIG.newPeersPerRelay + 2, `dialled ${announcements.dialled}`)
    // the forged ids went no further than the victim
    assert.equal((await bystander.peers()).peers.filter((p) => forgedIds.has(p.peerId)).length, 0)
    // and libp2p's peer store forgot the claimed addresses of the ids that never answered
    const remembered = await victim.host.peerStore.all()
    assert.equal(remembered.filter((p) => forgedIds.has(p.id.toString())).length, 0)
    if (process.env.ECLIPSE_REPORT !== undefined) console.log(JSON.stringify({ book: peers.length, ...announcements }))
    // gossipsub caches scores for a heartbeat
    await waitFor(() => score() < 0, { what: 'the relayer\'s gossip score to fall (P4)', timeoutMs: 10_000 })
  })
})

describe('peer-book eclipse on the version 2 topic: forged identities there cost their relayer too', { timeout: 120_000 }, () => {
  const TOPIC_V2 = announceTopic(FEDERATION, 2)
  const FORGED_V2 = 120
  let victim: Membership
  let attacker: FederationHost

  before(async () => {
    victim = await member()
    attacker = await attackerOn(TOPIC_V2, victim)
  })

  after(async () => {
    await victim?.stop()
    await attacker?.stop()
  })

  it('more new ids than a book holds are rejected, none is recorded, and the dials stay within the quota', async () => {
    const pubsub = attacker.services.pubsub as unknown as { sendRpc (to: string, rpc: unknown): boolean }
    const forged = new Set<string>()
    for (let batch = 0; batch < FORGED_V2 / 40; batch++) {
      const messages = []
      for (let i = 0; i < 40; i++) {
        const key = await generateKeyPair('Ed25519')
        const a = { ...forgedAnnouncement(key), site: 'home-berlin' }
        forged.add(a.peerId)
        const data = encodeSignedAnnouncement(await signAnnouncement(key, a, 2))
        messages.push((await buildRawMessage(getPublishConfigFromPeerId(StrictSign, peerIdFromPrivateKey(key), key), TOPIC_V2, data, data)).raw)
      }
      assert.equal(pubsub.sendRpc(victim.host.peerId.toString(), { subscriptions: [], messages }), true)
    }
    const score = (): number => (victim.host.services.pubsub as unknown as { getScore (id: string): number }).getScore(attacker.peerId.toString())
    // ids past the first CAP + 1 named are a flood: were version 2 newcomers ignored unjudged, none would be
    await waitFor(async () => (await victim.peers()).announcements.rejected >= FORGED_V2 - CAP - 1 || score() <= -80,
      { what: 'the flood on the version 2 topic rejected', timeoutMs: 60_000 })
    const { peers, announcements } = await victim.peers()
    assert.equal(peers.filter((p) => forged.has(p.peerId)).length, 0, 'no forged id is recorded')
    assert.ok((announcements.dialled ?? 0) <= DEFAULT_CONFIG.newPeersPerRelay + 2, `dialled ${announcements.dialled}`)
    await waitFor(() => score() < 0, { what: 'the relayer\'s gossip score to fall (P4)', timeoutMs: 10_000 })
  })
})
