import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { LevelPeerBook } from '../src/adapters/peer-book/level-peer-book.ts'
import { MemoryPeerBook } from '../src/adapters/peer-book/memory-peer-book.ts'
import { NewcomerGate } from '../src/domain/membership/newcomer-gate.ts'
import { evictionVictim, isStale } from '../src/domain/membership/peer-book-policy.ts'
import { newEntry, type PeerEntry } from '../src/domain/membership/peer-entry.ts'
import { peerBookSuite } from './conformance/peer-book.suite.ts'

peerBookSuite('MemoryPeerBook', { durable: false, open: async () => new MemoryPeerBook() })
peerBookSuite('LevelPeerBook', { durable: true, open: async (dir) => LevelPeerBook.open({ location: dir }) })

describe('peer book policy', () => {
  const policy = { maxPeers: 10, staleAfterMs: 1000 }
  const entry = (peerId: string, liveness: Partial<PeerEntry['liveness']>, firstSeen = 0): PeerEntry => ({
    ...newEntry(peerId, firstSeen), liveness: { ...newEntry(peerId, firstSeen).liveness, ...liveness }
  })

  it('evicts only unreachable entries, the one silent longest first, then by peer id', () => {
    const live = entry('a', { reachable: true, lastSuccess: 0 })
    assert.equal(evictionVictim([live]), undefined, 'a book of live peers refuses newcomers')
    const recent = entry('b', { reachable: false, lastSuccess: 500 })
    const old = entry('c', { reachable: false, lastSuccess: 100 })
    const never = entry('d', { reachable: false, lastSuccess: null, probes: 3 })
    assert.equal(evictionVictim([live, recent, old]), 'c')
    assert.equal(evictionVictim([live, recent, old, never]), 'd', 'one that never answered goes before any that did')
    assert.equal(evictionVictim([entry('f', { lastSuccess: 100 }), entry('e', { lastSuccess: 100 })]), 'e')
  })

  it('calls stale what is unreachable and silent for the stale time, or never answered', () => {
    assert.equal(isStale(entry('a', { reachable: true, lastSuccess: 0 }), 1e9, policy), false)
    assert.equal(isStale(entry('a', { reachable: false, lastSuccess: 0, successes: 1, probes: 4 }), 999, policy), false)
    assert.equal(isStale(entry('a', { reachable: false, lastSuccess: 0, successes: 1, probes: 4 }), 1000, policy), true)
    assert.equal(isStale(entry('a', { reachable: false, successes: 0, probes: 1 }), 1, policy), true, 'never answered')
    assert.equal(isStale(entry('a', { reachable: false }, 500), 1499, policy), false, 'unprobed: silent since first seen')
  })
})

describe('newcomer gate', () => {
  it('limits new identities per relaying peer per window and bounds the unverified set', () => {
    const gate = new NewcomerGate({ perRelayer: 3, floodLimit: 100, windowMs: 1000, maxPending: 5 })
    assert.deepEqual(['a', 'b', 'c', 'd'].map((id) => gate.offer(id, 'relay1', 0)), ['queued', 'queued', 'queued', 'over-quota'])
    assert.equal(gate.offer('a', 'relay1', 0), 'pending', 'an id already waiting costs nothing more')
    assert.deepEqual(['e', 'f', 'g'].map((id) => gate.offer(id, 'relay2', 0)), ['queued', 'queued', 'full'])
    assert.equal(gate.size, 5)
    gate.done('a', true, 0)
    assert.equal(gate.offer('g', 'relay2', 10), 'queued')
    assert.equal(gate.offer('h', 'relay1', 999), 'over-quota')
    gate.done('b', true, 0)
    assert.equal(gate.offer('h', 'relay1', 1000), 'queued', 'a new window')
    assert.equal(gate.offer('i', 'relay1', 500), 'full', 'a clock set back opens a new window, not a free pass around the set')
  })

  it('does not dial an unanswered peer again within the window, nor charge its relayer for it', () => {
    const gate = new NewcomerGate({ perRelayer: 2, floodLimit: 100, windowMs: 1000, maxPending: 5 })
    assert.equal(gate.offer('behind-nat', 'honest-relay', 0), 'queued')
    gate.done('behind-nat', false, 10)
    // forwarded again every announce interval by the same honest neighbour
    for (let t = 20; t < 1000; t += 100) assert.equal(gate.offer('behind-nat', 'honest-relay', t), 'unanswered')
    assert.equal(gate.offer('other', 'honest-relay', 500), 'queued', 'the repeats did not use up the quota')
    assert.equal(gate.offer('behind-nat', 'honest-relay', 1010), 'queued', 'after the window it is dialled again')
  })

  it('retries a peer that missed one dial after seconds, backing off to the window when it keeps missing', () => {
    const gate = new NewcomerGate({ perRelayer: 100, floodLimit: 100, windowMs: 600_000, maxPending: 5 })
    assert.equal(gate.offer('slow-start', 'relay', 0), 'queued')
    gate.done('slow-start', false, 0)
    assert.equal(gate.offer('slow-start', 'relay', 4_000), 'unanswered')
    assert.equal(gate.offer('slow-start', 'relay', 5_000), 'queued', 'one miss costs 5 s')
    gate.done('slow-start', false, 5_000)
    assert.equal(gate.offer('slow-start', 'relay', 14_000), 'unanswered')
    assert.equal(gate.offer('slow-start', 'relay', 15_000), 'queued', 'the second miss in a row costs 10 s')
    // misses 3 to 20: the wait doubles (20 s, 40 s, … ) and stops at the window (10 min)
    for (let misses = 3, t = 15_000; misses <= 20; misses++, t += 600_000) {
      gate.done('slow-start', false, t)
      if (misses >= 9) assert.equal(gate.offer('slow-start', 'relay', t + 599_999), 'unanswered', `after ${misses} misses`)
      assert.equal(gate.offer('slow-start', 'relay', t + 600_000), 'queued', 'never more than the window')
    }
    gate.done('slow-start', true, 10_000_000)
    assert.equal(gate.offer('slow-start', 'relay', 10_000_001), 'queued', 'an answer forgets the misses')
  })

  it('penalises a relayer only for naming more distinct new ids than a book holds', () => {
    const gate = new NewcomerGate({ perRelayer: 2, floodLimit: 5, windowMs: 1000, maxPending: 50 })
    const verdicts = Array.from({ length: 8 }, (_, i) => gate.offer(`p${i}`, 'relay', 0))
    assert.deepEqual(verdicts, ['queued', 'queued', 'over-quota', 'over-quota', 'over-quota', 'flood', 'flood', 'flood'])
    // an honest relayer repeating the same few peers every interval never floods
    const honest = new NewcomerGate({ perRelayer: 1, floodLimit: 5, windowMs: 10_000, maxPending: 50 })
    for (let t = 0; t < 10; t++) for (const id of ['a', 'b', 'c', 'd', 'e']) assert.notEqual(honest.offer(id, 'hub', t * 60), 'flood')
    assert.ok((gate as unknown as { windows: Map<string, { named: Set<string> }> }).windows.get('relay')!.named.size <= 6, 'the names kept are capped')
  })

  it('stays bounded with many relaying peers', () => {
    const gate = new NewcomerGate({ perRelayer: 1, floodLimit: 100, windowMs: 1000, maxPending: 10 })
    for (let i = 0; i < 10_000; i++) {
      const id = `p${i}`
      gate.offer(id, `relay${i}`, i)
      gate.done(id, false, i)
    }
    assert.equal(gate.size, 0)
    assert.ok((gate as unknown as { windows: Map<string, unknown> }).windows.size <= 1024)
    assert.ok((gate as unknown as { unanswered: Map<string, unknown> }).unanswered.size <= 160)
  })
})
