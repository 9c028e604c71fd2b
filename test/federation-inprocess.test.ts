import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { signAnnouncement } from '../src/adapters/libp2p/announcement-signature.ts'
import { createHost } from '../src/adapters/libp2p/create-host.ts'
import { FederationDialer } from '../src/adapters/libp2p/federation-dialer.ts'
import { federationHostOptions, type FederationServices } from '../src/adapters/libp2p/federation-services.ts'
import { silentLoggerFactory } from '../src/adapters/logging/stderr-logger.ts'
import { MemoryPeerBook } from '../src/adapters/peer-book/memory-peer-book.ts'
import { startMembership, type FederationHost, type Membership } from '../src/assembly/membership.ts'
import { decodeSignedAnnouncement, encodeSignedAnnouncement, type Announcement } from '../src/domain/membership/announcement.ts'
import { announceTopic } from '../src/domain/membership/federation.ts'
import { DEFAULT_CONFIG, type NodeConfig } from '../src/domain/config/node-config.ts'
import { waitFor } from './helpers/wait-for.ts'

const FEDERATION = `t-${randomBytes(4).toString('hex')}`
const TOPIC = announceTopic(FEDERATION)
const LOOPBACK = ['/ip4/127.0.0.1/tcp/0']
const baseline = process.getActiveResourcesInfo()

const config = (over: Partial<NodeConfig> = {}): NodeConfig => ({
  ...DEFAULT_CONFIG,
  listen: LOOPBACK,
  federation: FEDERATION,
  mdns: false,
  dhtMode: 'server',
  announceInterval: 60_000,
  livenessInterval: 1000,
  discoveryInterval: 60_000,
  ...over
})

/** A bare federation host: DHT and gossip services, no membership activities. */
async function bareHost (key?: PrivateKey, over: Partial<NodeConfig> = {}, start = true): Promise<FederationHost> {
  const settings = config(over)
  const host = await createHost<FederationServices>({
    privateKey: key ?? await generateKeyPair('Ed25519'),
    listen: settings.listen,
    publicAddresses: settings.publicAddresses,
    ...federationHostOptions({ ...settings, onDiscovered: undefined })
  }) as FederationHost
  if (start) await host.start()
  return host
}

/** The victim's gossipsub score of a peer (the router class has it; its interface does not). */
function scoreOf (member: Membership, peer: FederationHost): number {
  return (member.host.services.pubsub as unknown as { getScore (id: string): number }).getScore(peer.peerId.toString())
}

describe('federation in process', () => {
  const hosts: FederationHost[] = []
  const memberships: Membership[] = []

  after(async () => {
    await Promise.all(memberships.map(async (m) => m.stop()))
    await Promise.all(hosts.map(async (h) => h.stop()))
  })

  it('finds a peer through the DHT that only the bootstrap node knows', async () => {
    const [a, b, c] = [await bareHost(), await bareHost(), await bareHost()]
    hosts.push(a, b, c)
    const addrOfA = a.getMultiaddrs()[0]!.toString()
    await b.dial(a.getMultiaddrs()[0]!)
    await c.dial(a.getMultiaddrs()[0]!)
    await waitFor(() => (a.services.dht as any).routingTable.size === 2, { what: 'A to have B and C in its routing table', timeoutMs: 30_000 })
    // B knows nothing of C; a walk (bootstrap, then a DHT lookup) connects them
    const dialer = new FederationDialer({
      host: b,
      bootstrap: [addrOfA],
      dhtPeers: () => (b.services.dht as any).routingTable.size,
      intervalMs: 60_000,
      dialTimeoutMs: 10_000,
      log: silentLoggerFactory('discovery')
    })
    dialer.start()
    try {
      await waitFor(async () => {
        await dialer.walk()
        return b.getConnections(c.peerId).length > 0
      }, { what: 'B to be connected to C', timeoutMs: 30_000, intervalMs: 200 })
    } finally {
      await dialer.stop()
    }
    assert.ok(a.getProtocols().includes(`/${FEDERATION}/kad/1.0.0`), 'the federation runs its own DHT protocol')
    assert.ok(!a.getProtocols().includes('/ipfs/kad/1.0.0'), 'and not the public one')
    const found = await b.peerRouting.findPeer(c.peerId, { signal: AbortSignal.timeout(10_000) })
    assert.ok(found.multiaddrs.some((ma) => ma.toString().startsWith('/ip4/127.0.0.1/tcp/')))
  })

  describe('a forger on real gossipsub', () => {
    let victim: Membership
    let forger: FederationHost
    let forgerKey: PrivateKey
    // what the forger, subscribed to version 1's topic alone as a node of an earlier build is, receives
    const heard: Array<{ topic: string, data: Uint8Array }> = []

    before(async () => {
      victim = await startMembership({
        privateKey: await generateKeyPair('Ed25519'),
        config: config({ mdns: true, site: 'home-berlin' }), // mDNS exercised here so its sockets are part of the teardown check
        book: new MemoryPeerBook(),
        proofSystemId: 'ps-test',
        freeBytes: async () => 100,
        startedAt: new Date(),
        loggers: silentLoggerFactory
      })
      memberships.push(victim)
      forgerKey = await generateKeyPair('Ed25519')
      forger = await bareHost(forgerKey)
      hosts.push(forger)
      forger.services.pubsub.addEventListener('message', (evt) => { heard.push({ topic: evt.detail.topic, data: evt.detail.data }) })
      forger.services.pubsub.subscribe(TOPIC)
      await forger.dial(victim.host.getMultiaddrs()[0]!)
      await waitFor(() => forger.services.pubsub.getSubscribers(TOPIC).some((p) => p.equals(victim.host.peerId)),
        { what: 'the forger to see the victim on the topic', timeoutMs: 30_000 })
    })

    const announcementOf = (peerId: string, over: Partial<Announcement> = {}): Announcement => ({
      federation: FEDERATION,
      peerId,
      addresses: [],
      capacity: 1000,
      free: 1000,
      proofSystem: 'ps-test',
      software: 'forger/1',
      protocols: [],
      uptime: 1,
      timestamp: Date.now(),
      ...over
    })
    const publish = async (data: Uint8Array): Promise<void> => { await forger.services.pubsub.publish(TOPIC, data) }
    const stats = async () => (await victim.peers()).announcements

    it('accepts a correct announcement (the channel works)', async () => {
      const self = forger.peerId.toString()
      await publish(encodeSignedAnnouncement(await signAnnouncement(forgerKey, announcementOf(self))))
      await waitFor(async () => (await victim.peers()).peers.some((p) => p.peerId === self), { what: 'the announcement in the book', timeoutMs: 30_000 })
    })

    it('a node of an earlier build (version 1 topic alone) hears a site-declaring node in version 1, and never its version 2', async () => {
      const victimId = victim.host.peerId.toString()
      await waitFor(() => heard.some((m) => m.topic === TOPIC), { what: 'a version 1 announcement at the forger', timeoutMs: 30_000 })
      assert.ok(heard.every((m) => m.topic === TOPIC), 'gossipsub sends no version 2 message to a peer not subscribed to its topic')
      for (const m of heard) {
        // the version 1 decoder of every build: no site member, nothing it would reject
        const { announcement } = decodeSignedAnnouncement(m.data, 1)
        assert.equal(announcement.peerId, victimId)
        assert.equal('site' in announcement, false)
        assert.ok(announcement.protocols.includes(announceTopic(FEDERATION, 2)))
      }
    })

    it('records the site of a peer in the book from its version 2 announcement, and keeps it over its version 1 ones', async () => {
      const self = forger.peerId.toString()
      const at = Date.now()
      await forger.services.pubsub.publish(announceTopic(FEDERATION, 2), encodeSignedAnnouncement(await signAnnouncement(forgerKey, announcementOf(self, { timestamp: at, site: 'flat-7' }), 2)))
      await waitFor(async () => (await victim.peers()).peers.some((p) => p.peerId === self && p.site === 'flat-7'), { what: 'the site in the book', timeoutMs: 30_000 })
      // a version 2 node lists the version 2 topic in its version 1 announcements too (one that does not has lost its site: peer-book.suite.ts)
      await publish(encodeSignedAnnouncement(await signAnnouncement(forgerKey, announcementOf(self, { timestamp: at + 1, uptime: 2, protocols: [announceTopic(FEDERATION, 2)] }))))
      await waitFor(async () => (await victim.peers()).peers.some((p) => p.peerId === self && p.announcement?.uptime === 2), { what: 'the version 1 announcement recorded', timeoutMs: 30_000 })
      assert.equal((await victim.peers()).peers.find((p) => p.peerId === self)?.site, 'flat-7')
      assert.equal((await victim.livePeers()).find((p) => p.peerId === self)?.site, 'flat-7', 'placement reads it')
    })

    it('attack: a book peer signing newer announcements as fast as it can is recorded (and forwarded) at most a minute\'s allowance', async () => {
      const self = forger.peerId.toString()
      const before = await stats()
      const flood = 150
      const base = Date.now() + 10
      for (let i = 0; i < flood; i++) await publish(encodeSignedAnnouncement(await signAnnouncement(forgerKey, announcementOf(self, { timestamp: base + i }))))
      await waitFor(async () => { const now = await stats(); return now.accepted + now.ignored - before.accepted - before.ignored >= flood }, { what: 'every flooded announcement judged', timeoutMs: 60_000 })
      const accepted = (await stats()).accepted - before.accepted
      // 60 a minute at once, and one a second more while the flood lasts; every one of them was valid and newer
      assert.ok(accepted >= 30 && accepted <= 60 + 30, `recorded ${accepted} of ${flood}`)
      assert.equal((await stats()).rejected, before.rejected, 'no penalty: an honest node announcing often is only heard less often')
    })

    it('ignores a stale one without penalty', async () => {
      const before = await stats()
      const stale = announcementOf(forger.peerId.toString(), { timestamp: Date.now() - DEFAULT_CONFIG.announceWindow - 60_000 })
      await publish(encodeSignedAnnouncement(await signAnnouncement(forgerKey, stale)))
      await waitFor(async () => (await stats()).ignored > before.ignored, { what: 'the stale announcement to be ignored', timeoutMs: 30_000 })
      assert.equal((await stats()).rejected, before.rejected)
      assert.ok(scoreOf(victim, forger) >= 0)
    })

    it('rejects forged ones and the sender loses gossipsub score', async () => {
      const other = await generateKeyPair('Ed25519')
      const otherId = peerIdFromPrivateKey(other).toString()
      const before = await stats()
      // claims to be another peer, signed with the forger's key
      await publish(encodeSignedAnnouncement(await signAnnouncement(forgerKey, announcementOf(otherId))))
      // its own peer id, but a signature over different content
      const genuine = await signAnnouncement(forgerKey, announcementOf(forger.peerId.toString()))
      await publish(encodeSignedAnnouncement({ announcement: { ...genuine.announcement, free: 1, timestamp: Date.now() + 1 }, signature: genuine.signature }))
      await waitFor(async () => (await stats()).rejected >= before.rejected + 2, { what: 'two rejections', timeoutMs: 30_000 })
      const { peers } = await victim.peers()
      assert.ok(!peers.some((p) => p.peerId === otherId), 'the claimed peer is not in the book')
      assert.equal(peers.find((p) => p.peerId === forger.peerId.toString())?.announcement?.free, 1000, 'the tampered offer was not recorded')
      // gossipsub caches scores for a heartbeat
      await waitFor(() => scoreOf(victim, forger) < 0, { what: 'a negative score (P4 penalty)', timeoutMs: 10_000 })
    })
  })

  it('wires AutoNAT, DCUtR, UPnP and the relay server when asked, and not on loopback', async () => {
    const loopback = await bareHost(undefined, {}, false)
    assert.deepEqual(['autoNAT', 'dcutr', 'upnp', 'relay'].filter((s) => s in loopback.services), [])
    // built, never started: nothing binds 0.0.0.0 or talks to a router in a test
    const lan = await bareHost(undefined, { listen: ['/ip4/0.0.0.0/tcp/4101'], upnp: true, relayServer: true }, false)
    assert.deepEqual(['autoNAT', 'dcutr', 'upnp', 'relay'].filter((s) => s in lan.services), ['autoNAT', 'dcutr', 'upnp', 'relay'])
  })

  it('shares configured public addresses without waiting for AutoNAT', async () => {
    const host = await bareHost(undefined, { publicAddresses: ['/ip4/203.0.113.7/tcp/4101'] })
    hosts.push(host)
    assert.ok(host.getMultiaddrs().some((a) => a.toString() === `/ip4/203.0.113.7/tcp/4101/p2p/${host.peerId}`))
  })

  it('reaches a node through a circuit relay v2 reservation (loopback: the wiring, not a NAT)', async () => {
    const relay = await bareHost(undefined, { relayServer: true })
    const hidden = await bareHost(undefined, { listen: [...LOOPBACK, '/p2p-circuit'] })
    const dialer = await bareHost()
    hosts.push(relay, hidden, dialer)
    await hidden.dial(relay.getMultiaddrs()[0]!)
    const circuit = await waitFor(() => hidden.getMultiaddrs().find((a) => a.toString().includes('/p2p-circuit/')),
      { what: 'a relayed address', timeoutMs: 30_000 })
    const connection = await dialer.dial(circuit, { signal: AbortSignal.timeout(10_000) })
    assert.ok(connection.remotePeer.equals(hidden.peerId))
    assert.ok(connection.remoteAddr.toString().includes('/p2p-circuit'))
    assert.equal(typeof await dialer.services.ping.ping(circuit, { signal: AbortSignal.timeout(10_000) }), 'number')
  })

  it('tears down discovery and gossip without leaving handles', async () => {
    await Promise.all(memberships.splice(0).map(async (m) => m.stop()))
    await Promise.all(hosts.splice(0).map(async (h) => h.stop()))
    // libp2p's address manager finishes a 1 s debounce after stop; wait for it
    await waitFor(() => {
      const left = [...process.getActiveResourcesInfo()]
      for (const kind of baseline) {
        const at = left.indexOf(kind)
        if (at >= 0) left.splice(at, 1)
      }
      if (left.length > 0) throw new Error(`still open: ${left.join(', ')}`)
      return true
    }, { what: 'no handles beyond the baseline', timeoutMs: 10_000 })
  })
})
