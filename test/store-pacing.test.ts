import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Connection } from '@libp2p/interface'
import { StorePacing } from '../src/adapters/libp2p/protocols/store-pacing.ts'
import { StoreRate } from '../src/domain/resources/store-rate.ts'

const KIB = 1024

/** What the pacing reads of a connection; no raw connection, so nothing is held back. */
function connectionFrom (peer: string, address: string): Connection & { status: string } {
  return { remotePeer: { toString: () => peer }, remoteAddr: { toString: () => `/ip4/${address}/tcp/4001` }, status: 'open' } as unknown as Connection & { status: string }
}

describe('store pacing', () => {
  it('a subnet\'s streams waiting out its debt pass in the order they came; another subnet is not queued behind them', async () => {
    // 64 KiB/s per subnet, and each store let through is charged 16 KiB ahead:
    // a quarter of a second of debt per store once the burst is spent
    const pacing = new StorePacing({
      rate: new StoreRate({ perSubnet: 64 * KIB, strangers: 64 * 1024 * KIB }),
      isKnown: (peer) => peer === 'friend',
      provisionalBytes: 16 * KIB
    })
    pacing.noteWork('friend')
    const attacker = connectionFrom('attacker', '198.51.100.7')
    for (let i = 0; i < 8; i++) await pacing.beforeRead(attacker) // its 128 KiB burst
    const passed: string[] = []
    const waiting = ['first', 'second', 'third', 'fourth'].map(async (name) => {
      await pacing.beforeRead(connectionFrom(name, '198.51.100.8'))
      passed.push(name)
    })
    await pacing.beforeRead(connectionFrom('elsewhere', '203.0.113.9'))
    // by order, not time: the first of them fits what is left of the burst, each after it
    // waits out a quarter of a second of debt, and none of those has passed
    assert.ok(passed.length <= 1, `a stranger of another subnet is let through before the waiting ones (after ${passed.join(', ')})`)
    await Promise.all(waiting)
    assert.deepEqual(passed, ['first', 'second', 'third', 'fourth'])
  })

  it('a stream that comes once the debt is paid does not pass one still waiting it out', async () => {
    let now = 0
    const pacing = new StorePacing({
      rate: new StoreRate({ perSubnet: 64 * KIB, strangers: 64 * 1024 * KIB }, () => now),
      isKnown: (peer) => peer === 'friend',
      provisionalBytes: 160 * KIB // the burst and half a second's worth
    })
    pacing.noteWork('friend')
    await pacing.beforeRead(connectionFrom('attacker', '198.51.100.7'))
    const passed: string[] = []
    const waiting = pacing.beforeRead(connectionFrom('waiting', '198.51.100.8')).then(() => {
      passed.push('waiting')
      now += 10_000 // and the waiting stream's own charge
    })
    await new Promise((resolve) => setTimeout(resolve, 20))
    now += 10_000 // paid off while the waiting stream sleeps its slice
    await pacing.beforeRead(connectionFrom('newcomer', '198.51.100.9')).then(() => passed.push('newcomer'))
    await waiting
    assert.deepEqual(passed, ['waiting', 'newcomer'])
  })

  it('attack: many ids of a subnet queue streams ahead of an honest one and hang up; their places cost the honest stream no wait and leave no debt', async () => {
    let now = 0
    const pacing = new StorePacing({
      rate: new StoreRate({ perSubnet: 64 * KIB, strangers: 64 * 1024 * KIB }, () => now),
      isKnown: (peer) => peer === 'friend',
      provisionalBytes: 160 * KIB
    })
    pacing.noteWork('friend')
    await pacing.beforeRead(connectionFrom('first', '198.51.100.7')) // the subnet is in debt
    const ghosts = Array.from({ length: 20 }, (_, i) => connectionFrom(`sybil-${i}`, '198.51.100.8'))
    const queued = ghosts.map(async (c) => pacing.beforeRead(c))
    const honest = pacing.beforeRead(connectionFrom('honest', '198.51.100.9'))
    await new Promise((resolve) => setTimeout(resolve, 20))
    for (const c of ghosts) c.status = 'closed'
    now += 10_000 // the first store's debt paid off
    const tickets = await Promise.all(queued)
    assert.deepEqual(tickets.map((t) => t.charged), ghosts.map(() => 0), 'a stream whose connection closed is charged nothing')
    const started = performance.now()
    assert.equal((await honest).charged, 160 * KIB)
    assert.ok(performance.now() - started < 1000, 'the honest stream passes once the ghosts ahead of it are gone')
  })

  it('a known peer is never queued, and while nobody with standing is served a stranger is not charged', async () => {
    const pacing = new StorePacing({
      rate: new StoreRate({ perSubnet: 64 * KIB, strangers: 64 * KIB }),
      isKnown: (peer) => peer === 'friend',
      provisionalBytes: 1024 * KIB
    })
    const stranger = connectionFrom('stranger', '198.51.100.7')
    assert.equal((await pacing.beforeRead(stranger)).charged, 0)
    pacing.noteWork('friend')
    assert.equal((await pacing.beforeRead(stranger)).charged, 1024 * KIB)
    // the stranger's debt is 16 s: queued behind it, the friend would lose the race
    const friend = await Promise.race([pacing.beforeRead(connectionFrom('friend', '198.51.100.7')), new Promise((resolve) => setTimeout(resolve, 5000, 'queued')).then((q) => q)])
    assert.deepEqual(friend, { charged: 0 })
  })
})
