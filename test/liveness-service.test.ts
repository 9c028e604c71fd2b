import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MemoryPeerBook } from '../src/adapters/peer-book/memory-peer-book.ts'
import { silentLoggerFactory } from '../src/adapters/logging/stderr-logger.ts'
import { LivenessService, type LivenessSettings, type PingFn } from '../src/app/liveness-service.ts'
import type { PeerEntry } from '../src/ports/peer-book.ts'
import { announcement, newPeerId } from './conformance/peer-book.suite.ts'
import { waitFor } from './helpers/wait-for.ts'

const SETTINGS: LivenessSettings = { intervalMs: 10, timeoutMs: 200, unreachableAfterFailures: 2, unreachableAfterMs: 60_000 }

async function setup (ping: PingFn, settings: Partial<LivenessSettings> = {}) {
  const book = new MemoryPeerBook()
  const ids = [await newPeerId(), await newPeerId()]
  for (const id of ids) await book.recordAnnouncement(announcement(id), Date.now())
  let clock = 1_000_000
  const changes: PeerEntry[] = []
  const service = new LivenessService({
    book, ping, settings: { ...SETTINGS, ...settings }, log: silentLoggerFactory('liveness'), now: () => clock, onChange: (e) => changes.push(e)
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
    assert.equal(entry.liveness.probes, 4)
    assert.equal(entry.liveness.successes, 2)
    const flips = changes.map((e) => `${e.peerId}:${e.liveness.reachable}`)
    assert.deepEqual(flips.slice(0, 2).sort(), [`${a}:true`, `${b}:true`].sort(), 'the first round runs in parallel')
    assert.deepEqual(flips.slice(2), [`${a}:false`, `${a}:true`])
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
})
