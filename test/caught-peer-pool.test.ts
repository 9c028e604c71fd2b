import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Allowances } from '../src/app/admission/allowances.ts'

// A reciprocal peer stores up to the peer cap here; then it drops one shard of the
// owner's so an audit catches it. As a stranger its holdings would count against the
// strangers' pool, which it alone can fill: every newcomer would be refused.
const NEWCOMER = 10_000
const POOL = 50_000
const PEER_CAP = 80_000

function allowancesWith (caught: Set<string>, held: Map<string, number>): Allowances {
  return new Allowances({
    trust: { get: () => undefined, list: () => [] },
    receipts: { bytesOn: (p) => (p === 'cheat' ? 200_000 : 0), peers: () => ['cheat'] },
    bytesStoredBy: async (p) => held.get(p) ?? 0,
    chargedBytes: async () => [...held.values()].reduce((a, b) => a + b, 0),
    newcomerAllowance: NEWCOMER,
    strangersCapacity: POOL,
    peerCap: PEER_CAP,
    caught: (p) => caught.has(p)
  })
}

describe('a peer that gets itself caught by an audit', () => {
  it('attack: its bytes stored while reciprocal do not fill the strangers\' pool, and it gets no more room than a stranger that holds them', async () => {
    const held = new Map([['cheat', PEER_CAP], ['stranger-a', 4_000]])
    const caught = new Set<string>()
    const before = allowancesWith(caught, held)
    assert.equal(before.standingOf('cheat'), 'reciprocal')
    assert.equal(await before.allowanceOf('newcomer'), NEWCOMER)

    caught.add('cheat')
    const after = allowancesWith(caught, held)
    assert.equal(after.standingOf('cheat'), 'stranger')
    assert.equal(await after.allowanceOf('newcomer'), NEWCOMER, 'a newcomer still gets its allowance from the pool')
    assert.ok(await after.allowanceOf('cheat') <= PEER_CAP, 'the caught peer can store nothing beyond what it holds')
    assert.equal(await after.allowanceOf('cheat'), NEWCOMER, 'a stranger\'s allowance, which its holdings already exceed')

    // the pool still bounds strangers: the caught peer is charged a newcomer's worth of it
    held.set('stranger-b', POOL - NEWCOMER - 4_000 - 1_000)
    assert.equal(await after.allowanceOf('newcomer'), 1_000)
  })

  it('a caught peer that holds less than a newcomer\'s allowance is charged to the pool like any stranger', async () => {
    const held = new Map([['cheat', 3_000], ['stranger-a', POOL - 3_000 - 2_000]])
    const after = allowancesWith(new Set(['cheat']), held)
    assert.equal(await after.allowanceOf('newcomer'), 2_000)
    assert.equal(await after.allowanceOf('cheat'), 3_000 + 2_000)
  })
})
