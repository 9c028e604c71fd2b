import assert from 'node:assert/strict'
import { it } from 'node:test'
import { AuditBudget } from '../src/adapters/libp2p/protocols/audit-budget.ts'
import { BusyError } from '../src/domain/protocol/federation-errors.ts'
import { DEFAULT_AUDIT_LIMITS } from '../src/adapters/libp2p/protocols/audit-budget.ts'
import { auditLimitsOf, DEFAULT_CONFIG, parseNodeConfig } from '../src/domain/config/node-config.ts'

const limits = {
  stranger: { perSecond: 2, burst: 4 },
  network: { perSecond: 4, burst: 6 },
  known: { perSecond: 10, burst: 20 }
}

function budget (known: string[] = []): { audits: AuditBudget, tick: (ms: number) => void } {
  let now = 0
  return { audits: new AuditBudget({ isKnown: (p) => known.includes(p), limits, now: () => now }), tick: (ms) => { now += ms } }
}

/** Audits `peer` on `network` is answered in a row before the first BUSY. */
function answered (audits: AuditBudget, peer: string, network: string, tries = 100): number {
  for (let i = 0; i < tries; i++) {
    try { audits.charge(peer, network) } catch (err) {
      assert.ok(err instanceof BusyError)
      return i
    }
  }
  return tries
}

it('a stranger gets its burst, then its rate', () => {
  const { audits, tick } = budget()
  assert.equal(answered(audits, 'a', 'n1'), 4)
  tick(1000)
  assert.equal(answered(audits, 'a', 'n1'), 2)
})

it('fresh ids of one network share its budget; another network keeps its own', () => {
  const { audits } = budget()
  let total = 0
  for (let id = 0; id < 20; id++) total += answered(audits, `sybil-${id}`, 'n1')
  assert.equal(total, 6)
  assert.equal(answered(audits, 'honest', 'n2'), 4)
})

it('an audit refused by its network does not spend its peer\'s turn', () => {
  const { audits, tick } = budget()
  answered(audits, 'x', 'n1')
  answered(audits, 'y', 'n1')
  assert.equal(answered(audits, 'z', 'n1'), 0)
  tick(500) // the network got 2 back, z's own bucket was never charged
  assert.equal(answered(audits, 'z', 'n1'), 2)
})

it('a known peer is charged to no network and gets the larger budget', () => {
  const { audits } = budget(['friend'])
  for (let id = 0; id < 5; id++) answered(audits, `sybil-${id}`, 'n1')
  assert.equal(answered(audits, 'friend', 'n1'), 20)
})

it('forgets buckets that refilled, not those in debt', () => {
  const { audits, tick } = budget()
  answered(audits, 'debtor', 'n0')
  for (let id = 0; id < 10_000; id++) audits.charge(`p${id}`, `net${id}`)
  tick(1000) // p*'s buckets are not refilled yet (3 tokens short at 2/s needs 1.5 s)
  audits.charge('late', 'netx')
  assert.equal(answered(audits, 'debtor', 'n0'), 2, 'the debtor still owes: only what it earned back')
})

it('the config keys give the audit budget, and their defaults are its own', () => {
  assert.deepEqual(auditLimitsOf(DEFAULT_CONFIG), DEFAULT_AUDIT_LIMITS)
  const config = parseNodeConfig({ auditsPerStranger: 4, auditsPerSubnet: 8, auditsPerKnownPeer: 100 }, 'test')
  assert.deepEqual(auditLimitsOf(config), { stranger: { perSecond: 4, burst: 8 }, network: { perSecond: 8, burst: 16 }, known: { perSecond: 100, burst: 800 } })
  assert.throws(() => parseNodeConfig({ auditsPerStranger: 0 }, 'test'), /auditsPerStranger/)
})
