import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Announcement } from '../../src/domain/membership/announcement.ts'
import type { AdmissionPolicy, LivenessPolicy, PeerBook } from '../../src/ports/peer-book.ts'
import { tempDir } from '../helpers/temp-dir.ts'

export interface PeerBookHarness {
  /** Opens the adapter on `dir`; opening the same dir again must see durable data. */
  open (dir: string): Promise<PeerBook>
  durable: boolean
}

/** A fresh, real Ed25519 peer id string. */
export async function newPeerId (): Promise<string> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
}

/** The `protocols` of a node that speaks version 2 announcements in federation `quloud`. */
const SPEAKS_V2 = ['/quloud/kad/1.0.0', '/quloud/quloud/announce/1', '/quloud/quloud/announce/2']

export function announcement (peerId: string, over: Partial<Announcement> = {}): Announcement {
  return {
    federation: 'quloud',
    peerId,
    addresses: ['/ip4/127.0.0.1/tcp/4101'],
    capacity: 1000,
    free: 600,
    proofSystem: 'ps-1',
    software: 'quloud/0.1.0',
    protocols: ['/quloud/kad/1.0.0'],
    uptime: 5,
    timestamp: 1_700_000_000_000,
    ...over
  }
}

const POLICY: LivenessPolicy = { unreachableAfterFailures: 3, unreachableAfterMs: 60_000 }
const ADMISSION: AdmissionPolicy = { maxPeers: 1000, staleAfterMs: 3_600_000 }

/** The PeerBook contract (src/ports/peer-book.ts) as tests. Every adapter runs it. */
export function peerBookSuite (name: string, harness: PeerBookHarness): void {
  describe(`PeerBook conformance: ${name}`, () => {
    let dir: Awaited<ReturnType<typeof tempDir>>
    let book: PeerBook

    // a fresh book for every test, so none depends on what an earlier one left behind
    beforeEach(async () => {
      dir = await tempDir()
      book = await harness.open(dir.path)
    })
    afterEach(async () => {
      await book.close()
      await dir.cleanup()
    })
    /** Admits a peer as if it had just answered a dial at `at`. */
    const admit = async (a: Announcement, at: number, policy = ADMISSION) => book.admit(a, { at, ok: true, rttMs: 1 }, policy)

    it('admits a peer that answered a dial and returns a copy', async () => {
      const id = await newPeerId()
      assert.deepEqual(await book.admit(announcement(id), { at: 5000, ok: true, rttMs: 3 }, ADMISSION), { admitted: true })
      const entry = await book.get(id)
      assert.equal(entry.peerId, id)
      assert.deepEqual(entry.addresses, ['/ip4/127.0.0.1/tcp/4101'])
      assert.equal(entry.announcement?.capacity, 1000)
      assert.equal(entry.announcement?.free, 600)
      assert.equal(entry.announcement?.proofSystem, 'ps-1')
      assert.equal(entry.firstSeen, 5000)
      assert.equal(entry.lastSeen, 5000)
      assert.deepEqual(entry.liveness, { reachable: true, consecutiveFailures: 0, probes: 1, successes: 1, lastProbe: 5000, lastSuccess: 5000, lastRttMs: 3 })
      entry.addresses.push('/ip4/1.2.3.4/tcp/1')
      assert.equal((await book.get(id)).addresses.length, 1)
    })

    it('records nothing on an announcement alone, nor on an admission without an answer', async () => {
      const id = await newPeerId()
      assert.equal(await book.recordAnnouncement(announcement(id), 5000), false)
      await assert.rejects(book.admit(announcement(id), { at: 5000, ok: false }, ADMISSION), { name: 'InvalidInputError' })
      await assert.rejects(book.admit(announcement(id), { at: Number.NaN, ok: true }, ADMISSION), { name: 'InvalidInputError' })
      await assert.rejects(book.get(id), { name: 'NotFoundError' })
      assert.equal(await book.count(), 0)
    })

    it('admits a known peer again: the newer announcement and the success are applied, first-seen kept', async () => {
      const id = await newPeerId()
      await admit(announcement(id, { timestamp: 2000, free: 100 }), 10)
      await book.recordProbe(id, { at: 20, ok: false }, POLICY)
      assert.deepEqual(await admit(announcement(id, { timestamp: 1999, free: 5 }), 30), { admitted: true })
      let entry = await book.get(id)
      assert.equal(entry.announcement?.free, 100, 'an older announcement is not applied')
      assert.equal(entry.liveness.successes, 2)
      await admit(announcement(id, { timestamp: 2001, free: 7 }), 40)
      entry = await book.get(id)
      assert.equal(entry.announcement?.free, 7)
      assert.equal(entry.firstSeen, 10)
      assert.equal(entry.liveness.probes, 4)
    })

    it('never exceeds its cap: a newcomer replaces only a dead entry, the one silent longest', async () => {
      const policy = { ...ADMISSION, maxPeers: 3 }
      const [a, b, c, d, e] = await Promise.all([newPeerId(), newPeerId(), newPeerId(), newPeerId(), newPeerId()])
      for (const [i, id] of [a, b, c].entries()) await admit(announcement(id), 10 + i, policy)
      assert.deepEqual(await admit(announcement(d), 100, policy), { admitted: false }, 'every entry answers: the newcomer waits')
      await assert.rejects(book.get(d), { name: 'NotFoundError' })
      // b and c go silent; c answered last at 12, b at 11
      for (const id of [b, c]) for (let t = 0; t < 3; t++) await book.recordProbe(id, { at: 200 + t, ok: false }, POLICY)
      assert.deepEqual(await admit(announcement(d), 300, policy), { admitted: true, evicted: b })
      assert.deepEqual(await admit(announcement(e), 301, policy), { admitted: true, evicted: c })
      assert.deepEqual((await book.list()).map((x) => x.peerId).sort(), [a, d, e].sort())
      assert.equal(await book.count(), 3)
      // a known peer is admitted again whatever the count
      assert.deepEqual(await admit(announcement(a, { timestamp: 1_700_000_000_001 }), 400, policy), { admitted: true })
    })

    it('caps the entries answering from one public subnet: one host\'s many answering ids leave the rest of the book to others', async () => {
      const policy = { ...ADMISSION, maxPeers: 100, maxPerSubnet: 4 }
      const sybilNet = 'ip4:203.0.113'
      const sybils = await Promise.all(Array.from({ length: 40 }, newPeerId))
      const results = await Promise.all(sybils.map(async (id, i) => book.admit(announcement(id), { at: 10 + i, ok: true, rttMs: 1, subnet: sybilNet }, policy)))
      assert.equal(results.filter((r) => r.admitted).length, 4)
      assert.equal((await book.list()).filter((e) => e.subnet === sybilNet).length, 4)
      // peers of other networks, and of none (private addresses), still enter
      const honest = await newPeerId()
      assert.deepEqual(await book.admit(announcement(honest), { at: 100, ok: true, rttMs: 1, subnet: 'ip6:2001:db8:0:1' }, policy), { admitted: true })
      assert.deepEqual(await admit(announcement(await newPeerId()), 101, policy), { admitted: true })
      assert.equal((await book.get(honest)).subnet, 'ip6:2001:db8:0:1')
      // a dead entry of the full subnet makes room for one more of it, the one silent longest
      const admittedSybils = (await book.list()).filter((e) => e.subnet === sybilNet).map((e) => e.peerId)
      const dead = admittedSybils[0]!
      for (let t = 0; t < 3; t++) await book.recordProbe(dead, { at: 200 + t, ok: false }, POLICY)
      const late = sybils.find((id) => !admittedSybils.includes(id))!
      assert.deepEqual(await book.admit(announcement(late), { at: 300, ok: true, rttMs: 1, subnet: sybilNet }, policy), { admitted: true, evicted: dead })
      assert.equal(await book.count(), 6)
    })

    it('holds its cap under concurrent admissions', async () => {
      const policy = { ...ADMISSION, maxPeers: 5 }
      const ids = await Promise.all(Array.from({ length: 20 }, newPeerId))
      const results = await Promise.all(ids.map(async (id, i) => admit(announcement(id), i, policy)))
      assert.equal(results.filter((r) => r.admitted).length, 5)
      assert.equal(await book.count(), 5)
    })

    it('evicts stale entries and keeps those that answer', async () => {
      const [live, silent, recent] = await Promise.all([newPeerId(), newPeerId(), newPeerId()])
      for (const id of [live, silent, recent]) await admit(announcement(id), 0)
      for (const id of [silent, recent]) for (let t = 0; t < 3; t++) await book.recordProbe(id, { at: 10 + t, ok: false }, POLICY)
      await book.recordProbe(recent, { at: 50, ok: true, rttMs: 1 }, POLICY)
      for (let t = 0; t < 3; t++) await book.recordProbe(recent, { at: 60 + t, ok: false }, POLICY)
      const policy = { ...ADMISSION, staleAfterMs: 40 }
      assert.deepEqual(await book.evictStale(45, policy), [silent])
      assert.deepEqual(await book.evictStale(45, policy), [])
      assert.deepEqual(await book.evictStale(1e9, policy), [recent], 'a reachable entry stays however old')
      assert.deepEqual((await book.list()).map((e) => e.peerId), [live])
    })

    it('only moves forward: older or equal announcements change nothing', async () => {
      const id = await newPeerId()
      await admit(announcement(id, { timestamp: 2000, free: 100 }), 10)
      assert.equal(await book.recordAnnouncement(announcement(id, { timestamp: 2000, free: 5 }), 20), false)
      assert.equal(await book.recordAnnouncement(announcement(id, { timestamp: 1999, free: 5 }), 20), false)
      assert.equal((await book.get(id)).announcement?.free, 100)
      assert.equal(await book.recordAnnouncement(announcement(id, { timestamp: 2001, free: 7, addresses: [] }), 30), true)
      const entry = await book.get(id)
      assert.equal(entry.announcement?.free, 7)
      assert.deepEqual(entry.addresses, [])
      assert.equal(entry.firstSeen, 10)
      assert.equal(entry.lastSeen, 30)
    })

    it('keeps the site of version 2 announcements on their own clock: version 1 ones never lose it', async () => {
      const id = await newPeerId()
      await admit(announcement(id, { timestamp: 2000, free: 100 }), 10)
      const v2 = { version: 2 } as const
      // both versions of one announcement carry one timestamp, and either may come first
      assert.equal(await book.recordAnnouncement(announcement(id, { timestamp: 2000, site: 'home-berlin' }), 11, v2), true)
      assert.equal((await book.get(id)).site, 'home-berlin')
      assert.equal((await book.get(id)).announcement?.free, 100, 'the rest of an equal-timestamp version 2 changes nothing')
      assert.equal(await book.recordAnnouncement(announcement(id, { timestamp: 2000, site: 'elsewhere' }), 12, v2), false, 'a replay')
      // a node speaking version 2 lists its topic (protocol-spec/announce.md, "Sending")
      assert.equal(await book.recordAnnouncement(announcement(id, { timestamp: 2001, free: 7, protocols: SPEAKS_V2 }), 13), true)
      assert.equal((await book.get(id)).site, 'home-berlin', 'a version 1 announcement says nothing of sites')
      assert.equal((await book.get(id)).siteTimestamp, 2000)
      assert.equal(await book.recordAnnouncement(announcement(id, { timestamp: 2002, free: 6, site: 'home-paris' }), 14, v2), true)
      let entry = await book.get(id)
      assert.deepEqual([entry.site, entry.siteTimestamp, entry.lastSeen], ['home-paris', 2002, 14])
      assert.deepEqual([entry.announcement?.free, entry.announcement?.timestamp], [7, 2001], 'the rest is its version 1 twin\'s to say, so that twin is never "not newer"')
      assert.deepEqual((await book.listLive()).find((p) => p.peerId === id)?.site, 'home-paris')
      assert.equal(await book.recordAnnouncement(announcement(id, { timestamp: 2003 }), 15, v2), true)
      entry = await book.get(id)
      assert.equal(entry.site, undefined, 'a version 2 announcement without a site clears it')
      assert.equal('site' in entry, false)
      // a site in a version 1 announcement, or one off the rule, is off the schema
      await assert.rejects(book.recordAnnouncement(announcement(id, { timestamp: 2004, site: 'home-berlin' }), 16), { name: 'InvalidInputError' })
      await assert.rejects(book.recordAnnouncement(announcement(id, { timestamp: 2004, site: 'Home Berlin' }), 16, v2), { name: 'InvalidInputError' })
      assert.equal((await book.get(id)).siteTimestamp, 2003)
      // a peer not in the book is not created by its version 2 announcement either
      assert.equal(await book.recordAnnouncement(announcement(await newPeerId(), { site: 'home-berlin' }), 17, v2), false)
    })

    it('a peer gone back to a build without version 2 loses its site at its next version 1 announcement, and only then', async () => {
      const id = await newPeerId()
      await admit(announcement(id, { timestamp: 2000, protocols: SPEAKS_V2 }), 10)
      assert.equal(await book.recordAnnouncement(announcement(id, { timestamp: 2000, site: 'home-berlin' }), 11, { version: 2 }), true)
      // a replay of a version 1 from before the site, without the topic, is not newer
      assert.equal(await book.recordAnnouncement(announcement(id, { timestamp: 1999 }), 12), false)
      assert.equal((await book.get(id)).site, 'home-berlin')
      // the downgraded build announces version 1 alone: it can never withdraw the site
      assert.equal(await book.recordAnnouncement(announcement(id, { timestamp: 2001 }), 13), true)
      let entry = await book.get(id)
      assert.equal('site' in entry, false, 'a site the peer can no longer withdraw is dropped')
      assert.equal(entry.siteTimestamp, 2001)
      assert.equal((await book.listLive()).find((p) => p.peerId === id)?.site, undefined)
      // a relayed replay of its old version 2 does not bring the site back; a newer one, after an upgrade, does
      assert.equal(await book.recordAnnouncement(announcement(id, { timestamp: 2000, site: 'home-berlin' }), 14, { version: 2 }), false)
      assert.equal(await book.recordAnnouncement(announcement(id, { timestamp: 2002, site: 'home-paris' }), 15, { version: 2 }), true)
      entry = await book.get(id)
      assert.deepEqual([entry.site, entry.siteTimestamp], ['home-paris', 2002])
    })

    it('applies probes with the liveness policy and keeps the uptime counts', async () => {
      const id = await newPeerId()
      await admit(announcement(id), 1000)
      let entry = await book.recordProbe(id, { at: 2000, ok: true, rttMs: 4 }, POLICY)
      assert.equal(entry.liveness.reachable, true)
      assert.equal(entry.liveness.lastRttMs, 4)
      assert.equal(entry.lastSeen, 2000)
      entry = await book.recordProbe(id, { at: 3000, ok: false }, POLICY)
      entry = await book.recordProbe(id, { at: 4000, ok: false }, POLICY)
      assert.equal(entry.liveness.reachable, true, 'two failures are under the limit')
      entry = await book.recordProbe(id, { at: 5000, ok: false }, POLICY)
      assert.equal(entry.liveness.reachable, false)
      assert.equal(entry.liveness.consecutiveFailures, 3)
      assert.equal(entry.liveness.lastSuccess, 2000)
      entry = await book.recordProbe(id, { at: 6000, ok: true, rttMs: 2 }, POLICY)
      assert.equal(entry.liveness.reachable, true)
      assert.equal(entry.liveness.consecutiveFailures, 0)
      assert.equal(entry.liveness.probes, 6)
      assert.equal(entry.liveness.successes, 3)
      assert.deepEqual(await book.get(id), entry)
    })

    it('marks a silent peer unreachable after the silence limit, even before N failures', async () => {
      const id = await newPeerId()
      await admit(announcement(id), 0)
      await book.recordProbe(id, { at: 1000, ok: true, rttMs: 1 }, POLICY)
      const entry = await book.recordProbe(id, { at: 1000 + POLICY.unreachableAfterMs, ok: false }, POLICY)
      assert.equal(entry.liveness.reachable, false)
      assert.equal(entry.liveness.consecutiveFailures, 1)
    })

    it('does not create peers by probing and rejects unknown ones', async () => {
      const id = await newPeerId()
      await assert.rejects(book.recordProbe(id, { at: 1, ok: true, rttMs: 1 }, POLICY), { name: 'NotFoundError' })
      await assert.rejects(book.get(id), { name: 'NotFoundError' })
    })

    it('lists live peers with free capacity, filtered and in placement order', async () => {
      const [a, b, c, d] = await Promise.all([newPeerId(), newPeerId(), newPeerId(), newPeerId()])
      await admit(announcement(a, { free: 100, capacity: 100 }), 0)
      await admit(announcement(b, { free: 900, capacity: 1000 }), 0)
      await admit(announcement(c, { free: 500, proofSystem: 'other' }), 0)
      await admit(announcement(d, { free: 999, capacity: 1000 }), 0)
      for (const id of [a, b, c]) await book.recordProbe(id, { at: 10, ok: true, rttMs: 3 }, POLICY)
      for (let t = 0; t < 3; t++) await book.recordProbe(d, { at: 10 + t, ok: false }, POLICY)
      // d stopped answering: not live
      const live = (await book.listLive()).filter((p) => [a, b, c, d].includes(p.peerId))
      assert.deepEqual(live.map((p) => p.peerId), [b, c, a])
      assert.deepEqual(live[0], {
        peerId: b, addresses: ['/ip4/127.0.0.1/tcp/4101'], capacity: 1000, free: 900, proofSystem: 'ps-1', lastRttMs: 3, uptimeRatio: 1, lastSeen: 10, firstSeen: 0, probes: 2, successes: 2
      })
      const same = (await book.listLive({ proofSystemId: 'ps-1', minFree: 200 })).filter((p) => [a, b, c, d].includes(p.peerId))
      assert.deepEqual(same.map((p) => p.peerId), [b])
    })

    it('lists every entry by peer id, counts and removes idempotently', async () => {
      const id = await newPeerId()
      const before = await book.count()
      await admit(announcement(id), 0)
      assert.equal(await book.count(), before + 1)
      const ids = (await book.list()).map((e) => e.peerId)
      assert.ok(ids.includes(id))
      assert.deepEqual(ids, [...ids].sort())
      await book.remove(id)
      await book.remove(id)
      assert.equal(await book.count(), before)
      await assert.rejects(book.get(id), { name: 'NotFoundError' })
    })

    it('rejects malformed input without storing anything', async () => {
      const before = await book.count()
      await assert.rejects(book.get('not/a/peer'), { name: 'InvalidInputError' })
      await assert.rejects(book.remove(''), { name: 'InvalidInputError' })
      const id = await newPeerId()
      await assert.rejects(book.recordAnnouncement(announcement(id, { free: 5000 }), 0), { name: 'InvalidInputError' })
      await assert.rejects(book.recordAnnouncement({ ...announcement(id), extra: 1 } as Announcement, 0), { name: 'InvalidInputError' })
      await assert.rejects(book.recordAnnouncement(announcement('0OIl'), 0), { name: 'InvalidInputError' })
      await assert.rejects(admit(announcement(id, { free: 5000 }), 0), { name: 'InvalidInputError' })
      await assert.rejects(admit({ ...announcement(id), extra: 1 } as Announcement, 0), { name: 'InvalidInputError' })
      assert.equal(await book.count(), before)
    })

    it('applies concurrent updates of one peer one after the other', async () => {
      const id = await newPeerId()
      await admit(announcement(id), 0)
      await Promise.all(Array.from({ length: 20 }, async (_, i) => Promise.all([
        book.recordProbe(id, { at: 100 + i, ok: i % 2 === 0, rttMs: 1 }, POLICY),
        book.recordAnnouncement(announcement(id, { timestamp: 1_700_000_000_001 + i }), 100 + i)
      ])))
      const entry = await book.get(id)
      assert.equal(entry.liveness.probes, 21)
      assert.equal(entry.liveness.successes, 11)
      assert.equal(entry.announcement?.timestamp, 1_700_000_000_020)
    })

    it('honours an already-fired AbortSignal on every method without any effect', async () => {
      const id = await newPeerId()
      const signal = AbortSignal.abort()
      await assert.rejects(book.admit(announcement(id), { at: 0, ok: true }, ADMISSION, { signal }), { name: 'AbortError' })
      await assert.rejects(book.get(id), { name: 'NotFoundError' })
      await admit(announcement(id), 0)
      await assert.rejects(book.recordAnnouncement(announcement(id, { timestamp: 1_700_000_000_001, free: 1 }), 0, { signal }), { name: 'AbortError' })
      await assert.rejects(book.recordProbe(id, { at: 1, ok: true }, POLICY, { signal }), { name: 'AbortError' })
      await assert.rejects(book.evictStale(1e12, ADMISSION, { signal }), { name: 'AbortError' })
      assert.equal((await book.get(id)).liveness.probes, 1)
      assert.equal((await book.get(id)).announcement?.free, 600)
      await assert.rejects(book.get(id, { signal }), { name: 'AbortError' })
      await assert.rejects(book.list({ signal }), { name: 'AbortError' })
      await assert.rejects(book.listLive({ signal }), { name: 'AbortError' })
      await assert.rejects(book.count({ signal }), { name: 'AbortError' })
      await assert.rejects(book.remove(id, { signal }), { name: 'AbortError' })
      await book.get(id)
    })

    it('rejects calls after close with ClosedError; durable adapters keep everything', async () => {
      const id = await newPeerId()
      await admit(announcement(id, { free: 42 }), 7)
      await book.recordProbe(id, { at: 8, ok: true, rttMs: 9 }, POLICY)
      await book.recordAnnouncement(announcement(id, { timestamp: 1_700_000_000_001, free: 42, site: 'home-berlin' }), 9, { version: 2 })
      const stored = await book.get(id)
      assert.equal(stored.site, 'home-berlin')
      await book.close()
      await book.close()
      await assert.rejects(book.get(id), { name: 'ClosedError' })
      await assert.rejects(book.recordAnnouncement(announcement(id), 0), { name: 'ClosedError' })
      await assert.rejects(admit(announcement(id), 0), { name: 'ClosedError' })
      await assert.rejects(book.evictStale(0, ADMISSION), { name: 'ClosedError' })
      book = await harness.open(dir.path)
      if (harness.durable) {
        assert.deepEqual(await book.get(id), stored)
        assert.equal((await book.listLive()).find((p) => p.peerId === id)?.free, 42)
      } else {
        await assert.rejects(book.get(id), { name: 'NotFoundError' })
      }
    })
  })
}
