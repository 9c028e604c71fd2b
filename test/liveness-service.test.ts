import { peerBookPerSubnetOf } from '../src/domain/config/node-config.ts'
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MemoryPeerBook } from '../src/adapters/peer-book/memory-peer-book.ts'
import { silentLoggerFactory } from '../src/adapters/logging/stderr-logger.ts'
import { EventLoopStalls, type StallClock } from '../src/app/event-loop-stalls.ts'
import { DEFAULT_ADMISSION, LivenessService, type LivenessSettings, type PingFn } from '../src/app/liveness-service.ts'
import type { PeerEntry } from '../src/ports/peer-book.ts'
import { announcement, newPeerId } from './conformance/peer-book.suite.ts'
import { waitFor } from './helpers/wait-for.ts'

const SETTINGS: LivenessSettings = { intervalMs: 10, timeoutMs: 200, unreachableAfterFailures: 2, unreachableAfterMs: 60_000 }

/** A stall clock the test drives: `stall(ms)` blocks "the loop" for ms, as seen by liveness. */
function fakeStalls (): StallClock & { tick: (ms: number) => void, stall: (ms: number) => void } {
  let now = 0
  const stalls: Array<[number, number]> = []
  return {
    now: () => now,
    stalledSince: (from) => stalls.reduce((n, [s, e]) => n + Math.max(0, Math.min(e, now) - Math.max(s, from)), 0),
    tick: (ms) => { now += ms },
    stall: (ms) => { stalls.push([now, now + ms]); now += ms }
  }
}

/** Blocks this thread, as sealing a large file or a synchronous proof would. */
function blockEventLoop (ms: number): void {
  const end = performance.now() + ms
  while (performance.now() < end) { /* busy */ }
}

async function setup (ping: PingFn, settings: Partial<LivenessSettings> = {}, stalls?: StallClock) {
  const book = new MemoryPeerBook()
  const ids = [await newPeerId(), await newPeerId()]
  let clock = 1_000_000
  // as the book holds them: admitted when they answered a dial
  for (const id of ids) await book.admit(announcement(id), { at: clock, ok: true, rttMs: 1 }, DEFAULT_ADMISSION)
  const changes: PeerEntry[] = []
  const service = new LivenessService({
    book, ping, settings: { ...SETTINGS, ...settings }, log: silentLoggerFactory('liveness'), now: () => clock, onChange: (e) => changes.push(e),
    stalls: stalls ?? new EventLoopStalls()
  })
  return { book, ids, service, changes, tick: (ms: number) => { clock += ms } }
}

describe('LivenessService', () => {
  it('marks peers reachable, then unreachable after N failures, then reachable again', async () => {
    const down = new Set<string>()
    const { book, ids, service, changes, tick } = await setup(async (id) => {
      if (down.has(id)) throw new Error('connection refused')
      return 7
    })
    const [a, b] = ids as [string, string]
    await service.runRound()
    assert.equal((await book.get(a)).liveness.reachable, true)
    assert.equal((await book.get(a)).liveness.lastRttMs, 7)
    down.add(a)
    tick(10)
    await service.runRound()
    assert.equal((await book.get(a)).liveness.reachable, true, 'one failure is not enough')
    tick(10)
    await service.runRound()
    assert.equal((await book.get(a)).liveness.reachable, false)
    assert.equal((await book.get(b)).liveness.reachable, true)
    down.delete(a)
    tick(10)
    await service.probe(a)
    const entry = await book.get(a)
    assert.equal(entry.liveness.reachable, true)
    assert.equal(entry.liveness.probes, 5)
    assert.equal(entry.liveness.successes, 3)
    const flips = changes.map((e) => `${e.peerId}:${e.liveness.reachable}`)
    assert.deepEqual(flips, [`${a}:false`, `${a}:true`])
  })

  it('counts a ping that never answers as failed after the timeout', async () => {
    const { book, ids, service } = await setup(async (_id, { signal }) => new Promise((_resolve, reject) => {
      signal?.addEventListener('abort', () => reject(signal.reason))
    }), { timeoutMs: 20 })
    await service.runRound()
    for (const id of ids) assert.equal((await book.get(id)).liveness.consecutiveFailures, 1)
  })

  it('backs off from unreachable peers', async () => {
    let pings = 0
    const { service, tick } = await setup(async () => { pings++; throw new Error('down') })
    for (let i = 0; i < 2; i++) { await service.runRound(); tick(10) }
    assert.equal(pings, 4)
    // unreachable now: the next probes wait 10 ms, then 20 ms, ...
    await service.runRound()
    assert.equal(pings, 6)
    await service.runRound()
    assert.equal(pings, 6, 'not due before the back-off')
    tick(20)
    await service.runRound()
    assert.equal(pings, 8)
  })

  it('runs rounds on its timer and stops cleanly, aborting pings in flight', async () => {
    let pings = 0
    let hanging = 0
    const { book, ids, service } = await setup(async (_id, { signal }) => {
      pings++
      if (pings <= 6) return 1
      hanging++
      return new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(signal.reason)))
    }, { timeoutMs: 60_000 })
    service.start()
    await waitFor(() => hanging > 0, { what: 'a hanging ping', timeoutMs: 10_000 })
    const probes = (await book.get(ids[0]!)).liveness.probes
    await service.stop()
    const after = pings
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.equal(pings, after, 'no pings after stop')
    assert.equal((await book.get(ids[0]!)).liveness.probes, probes, 'an aborted ping is not recorded')
    assert.ok(probes >= 3)
  })
  it('traffic that succeeded brings an unreachable peer back at once, resets its failures and keeps its RTT', async () => {
    let down = false
    const { book, ids, service, changes, tick } = await setup(async () => { if (down) throw new Error('timed out'); return 7 })
    const [a] = ids as [string]
    await service.probe(a)
    down = true
    for (let i = 0; i < 2; i++) { tick(10); await service.probe(a) }
    assert.equal((await book.get(a)).liveness.reachable, false)
    await service.observedAlive(a)
    const entry = await book.get(a)
    assert.equal(entry.liveness.reachable, true)
    assert.equal(entry.liveness.consecutiveFailures, 0)
    assert.equal(entry.liveness.successes, 3, 'traffic counts as a successful probe')
    assert.equal(entry.liveness.lastRttMs, 7, 'traffic measures no RTT: the last one stays')
    assert.deepEqual(changes.filter((e) => e.peerId === a).map((e) => e.liveness.reachable), [false, true])
  })

  it('a ping that fails while traffic with the peer succeeds is not a failure', async () => {
    const stalls = fakeStalls()
    let service: LivenessService | undefined
    let traffic = true
    const { book, ids, service: s } = await setup(async (id) => {
      // the answer queues behind a big transfer on the same connection, which goes on
      stalls.tick(100)
      if (traffic) await service!.observedAlive(id)
      stalls.tick(100)
      throw new Error('ping timed out')
    }, { intervalMs: 1000 }, stalls)
    service = s
    const [a] = ids as [string]
    for (let i = 0; i < 5; i++) await service.probe(a)
    assert.equal((await book.get(a)).liveness.consecutiveFailures, 0)
    assert.equal((await book.get(a)).liveness.reachable, true)
    // the transfer ends and the peer stops answering: failures count again
    traffic = false
    for (let i = 0; i < 2; i++) await service.probe(a)
    assert.equal((await book.get(a)).liveness.consecutiveFailures, 2)
    assert.equal((await book.get(a)).liveness.reachable, false)
  })

  it('attack: traffic before a ping does not excuse its failure (liveness cannot be banked)', async () => {
    const stalls = fakeStalls()
    const { book, ids, service } = await setup(async () => { stalls.tick(200); throw new Error('ping timed out') }, {}, stalls)
    const [a] = ids as [string]
    await service.observedAlive(a)
    stalls.tick(1)
    await service.probe(a)
    await service.probe(a)
    assert.equal((await book.get(a)).liveness.consecutiveFailures, 2)
    assert.equal((await book.get(a)).liveness.reachable, false)
  })

  it('attack: a flood of traffic writes the book once per interval; traffic never creates a peer', async () => {
    const stalls = fakeStalls()
    const { book, ids, service } = await setup(async () => 1, { intervalMs: 1000 }, stalls)
    const [a] = ids as [string]
    await Promise.all(Array.from({ length: 1000 }, async () => service.observedAlive(a)))
    assert.equal((await book.get(a)).liveness.probes, 2)
    stalls.tick(999)
    await service.observedAlive(a)
    assert.equal((await book.get(a)).liveness.probes, 2)
    stalls.tick(1)
    await service.observedAlive(a)
    assert.equal((await book.get(a)).liveness.probes, 3)
    const stranger = await newPeerId()
    await service.observedAlive(stranger)
    assert.equal(await book.count(), 2)
    await assert.rejects(book.get(stranger), { name: 'NotFoundError' })
  })

  it('a ping that timed out while the event loop was blocked is not a failure; one that had a fair chance is', async () => {
    const stalls = fakeStalls()
    let blockedMs = 0
    const { book, ids, service } = await setup(async () => {
      stalls.stall(blockedMs)
      stalls.tick(200 - blockedMs)
      throw new Error('ping timed out')
    }, { timeoutMs: 200 }, stalls)
    const [a] = ids as [string]
    blockedMs = 60 // over a quarter of the timeout: the answer may have sat unread
    for (let i = 0; i < 3; i++) await service.probe(a)
    assert.equal((await book.get(a)).liveness.probes, 1, 'nothing concluded')
    blockedMs = 40 // the ping had 160 of its 200 ms: a real failure
    await service.probe(a)
    assert.equal((await book.get(a)).liveness.consecutiveFailures, 1)
  })

  it('with the real monitor: a ping starved by a blocked loop is not counted', async () => {
    const stalls = new EventLoopStalls()
    stalls.start()
    try {
      const { book, ids, service } = await setup(async (_id, { signal }) => {
        blockEventLoop(500) // the timeout (200 ms) can only fire after this
        return new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(signal.reason)))
      }, { timeoutMs: 200 }, stalls)
      await service.probe(ids[0]!)
      assert.equal((await book.get(ids[0]!)).liveness.probes, 1)
    } finally {
      stalls.stop()
    }
  })
})

describe('LivenessService admission', () => {
  const settings = { ...SETTINGS, timeoutMs: 50 }
  const make = (ping: PingFn, book = new MemoryPeerBook(), clock = { now: 1_000_000 }, maxPeers = 1000) => {
    const service = new LivenessService({
      book, ping, settings, log: silentLoggerFactory('liveness'), now: () => clock.now, stalls: new EventLoopStalls(),
      admission: { maxPeers, staleAfterMs: 60_000 }
    })
    return { book, service, clock }
  }

  it('records an announced peer only after it answered a dial', async () => {
    const [honest, forged, silent] = [await newPeerId(), await newPeerId(), await newPeerId()]
    const { book, service } = make(async (id, { signal }) => {
      if (id === honest) return 3
      if (id === forged) throw new Error('connection refused')
      return new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(signal.reason)))
    })
    service.start()
    try {
      assert.deepEqual(await Promise.all([honest, forged, silent].map(async (id) => service.admit(announcement(id)))), [true, false, false])
      assert.deepEqual((await book.list()).map((e) => e.peerId), [honest])
      assert.equal((await book.get(honest)).liveness.lastRttMs, 3)
    } finally {
      await service.stop()
    }
    assert.equal(await service.admit(announcement(await newPeerId())), false, 'a stopped service admits nothing')
  })

  it('a full book of live peers refuses a newcomer that answers; a dead entry makes room', async () => {
    const ids = [await newPeerId(), await newPeerId(), await newPeerId()]
    const down = new Set<string>()
    const { book, service, clock } = make(async (id) => { if (down.has(id)) throw new Error('down'); return 1 }, new MemoryPeerBook(), { now: 1_000_000 }, 2)
    service.start()
    try {
      assert.equal(await service.admit(announcement(ids[0]!)), true)
      assert.equal(await service.admit(announcement(ids[1]!)), true)
      assert.equal(await service.admit(announcement(ids[2]!)), false, 'the long-lived live peers stay')
      down.add(ids[0]!)
      for (let i = 0; i < 2; i++) { clock.now += 10; await service.probe(ids[0]!) }
      assert.equal(await service.admit(announcement(ids[2]!)), true)
      assert.deepEqual((await book.list()).map((e) => e.peerId).sort(), [ids[1]!, ids[2]!].sort())
    } finally {
      await service.stop()
    }
  })

  it('1,000 answering ids from one public /24 take a sixteenth of the book; an honest newcomer elsewhere is still recorded', async () => {
    const book = new MemoryPeerBook()
    const sybils = new Set<string>()
    const service = new LivenessService({
      book, ping: async () => 1, settings, log: silentLoggerFactory('liveness'), now: () => 1_000_000, stalls: new EventLoopStalls(),
      admission: { maxPeers: 1000, staleAfterMs: 60_000, maxPerSubnet: peerBookPerSubnetOf({ peerBookSize: 1000 }) },
      // the subnet is what the answering connection shows, whatever the announcement claims
      answeringSubnet: (id) => sybils.has(id) ? 'ip4:203.0.113' : 'ip4:198.51.100'
    })
    service.start()
    try {
      let admitted = 0
      for (let i = 0; i < 1000; i++) {
        const id = await newPeerId()
        sybils.add(id)
        if (await service.admit(announcement(id))) admitted++
      }
      assert.equal(admitted, 62)
      const honest = await newPeerId()
      assert.equal(await service.admit(announcement(honest)), true)
      assert.equal(await book.count(), 63)
    } finally {
      await service.stop()
    }
  })

  it('each round first drops entries that stopped answering long ago', async () => {
    const [stays, goes] = [await newPeerId(), await newPeerId()]
    let goesDown = false
    const { book, service, clock } = make(async (id) => { if (id === goes && goesDown) throw new Error('down'); return 1 })
    service.start()
    try {
      await service.admit(announcement(stays))
      await service.admit(announcement(goes))
      goesDown = true
      for (let i = 0; i < 2; i++) { clock.now += 10; await service.probe(goes) }
      clock.now += 60_000
      await service.runRound()
      assert.deepEqual((await book.list()).map((e) => e.peerId), [stays])
    } finally {
      await service.stop()
    }
  })
})

describe('EventLoopStalls', () => {
  it('measures how long the loop was blocked, also while the block is still going on', async () => {
    const stalls = new EventLoopStalls({ sampleMs: 20 })
    stalls.start()
    try {
      await new Promise((resolve) => setTimeout(resolve, 50))
      const before = stalls.now()
      blockEventLoop(400)
      // no sample has run yet: the stall in progress is counted
      assert.ok(stalls.stalledSince(before) >= 350, `in progress: ${stalls.stalledSince(before)} ms`)
      await new Promise((resolve) => setTimeout(resolve, 60))
      const measured = stalls.stalledSince(before)
      // at most the time that passed: a loaded machine may add stalls of its own to the 400 ms
      assert.ok(measured >= 350 && measured <= stalls.now() - before, `after: ${measured} ms`)
      assert.equal(stalls.stalledSince(stalls.now()), 0, 'nothing after now')
    } finally {
      stalls.stop()
    }
  })
})
