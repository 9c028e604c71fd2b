import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { FairQueue } from '../src/adapters/proof/fair-queue.ts'
import { DEFAULT_PROOF_ADMISSION, ProofAdmission, type ChallengeRequester } from '../src/adapters/proof/proof-admission.ts'

function clock (): { now: () => number, advance: (ms: number) => void } {
  let t = 1_000_000
  return { now: () => t, advance: (ms) => { t += ms } }
}

const busy = { name: 'BusyError' }

/** Fresh ids of `subnet` fail proofs until the subnet's strangers are refused. */
function spend (admission: ProofAdmission, subnet: string, prefix: string): void {
  for (let i = 0; ; i++) {
    try { admission.admit({ peer: `${prefix}-${i}`, subnet }).settle('failed') } catch { return }
  }
}

/** Admits and settles one challenge with `outcome`. */
function attempt (admission: ProofAdmission, requester: ChallengeRequester, outcome: 'verified' | 'failed' | 'abandoned'): void {
  admission.admit(requester).settle(outcome)
}

describe('ProofAdmission: failures cost the sender', () => {
  it('a failed proof starts a cooldown that doubles with each failure; a verified one ends it', () => {
    const c = clock()
    const admission = new ProofAdmission({ now: c.now, limits: { subnetFailureBurst: 100, strangerFailureBurst: 100 } })
    const flooder = { peer: 'f', subnet: 'A' }
    const waits: number[] = []
    for (let failures = 0; failures < 5; failures++) {
      attempt(admission, flooder, 'failed')
      let waited = 0
      for (; ; waited += 100, c.advance(100)) {
        try { admission.admit(flooder).settle('abandoned'); break } catch (err) { assert.equal((err as Error).name, 'BusyError') }
      }
      waits.push(waited)
    }
    assert.deepEqual(waits, [1000, 2000, 4000, 8000, 16000])
    attempt(admission, flooder, 'verified')
    attempt(admission, flooder, 'failed')
    assert.throws(() => admission.admit(flooder), busy)
    c.advance(1000)
    assert.doesNotThrow(() => admission.admit(flooder), 'after a verified proof the next failure costs the first cooldown again')
  })

  it('the cooldown is capped', () => {
    const c = clock()
    const admission = new ProofAdmission({ now: c.now, limits: { maxCooldownMs: 5000, subnetFailureBurst: 100, strangerFailureBurst: 100 } })
    const flooder = { peer: 'f', subnet: 'A' }
    for (let i = 0; i < 40; i++) { attempt(admission, flooder, 'failed'); c.advance(5000) }
    assert.doesNotThrow(() => admission.admit(flooder))
  })

  it('proofs that verify or are given up cost nothing, however many', () => {
    const admission = new ProofAdmission({ now: clock().now })
    const honest = { peer: 'h', subnet: 'A' }
    for (let i = 0; i < 1000; i++) attempt(admission, honest, i % 2 === 0 ? 'verified' : 'abandoned')
    assert.doesNotThrow(() => admission.admit(honest))
  })

  it('a peer that keeps asking through its cooldown is marked for hanging up', () => {
    const admission = new ProofAdmission({ now: clock().now })
    const flooder = { peer: 'f', subnet: 'A' }
    attempt(admission, flooder, 'failed')
    for (let i = 0; i < DEFAULT_PROOF_ADMISSION.knocksPerCooldown; i++) {
      assert.throws(() => admission.admit(flooder), busy)
      assert.equal(admission.ignoresCooldown('f'), false, `knock ${i + 1} is within the allowance`)
    }
    assert.throws(() => admission.admit(flooder), busy)
    assert.equal(admission.ignoresCooldown('f'), true)
    assert.equal(admission.ignoresCooldown('someone else'), false)
  })
})

describe('ProofAdmission: fresh identities share their subnet\'s budget', () => {
  it('after a burst of failures from fresh ids, the subnet\'s strangers wait; standing and other subnets do not', () => {
    const c = clock()
    const admission = new ProofAdmission({ now: c.now, hasStanding: (peer) => peer === 'trusted' })
    const { subnetFailureBurst, subnetFailuresPerSecond } = DEFAULT_PROOF_ADMISSION
    let sybil = 0
    for (; sybil < subnetFailureBurst; sybil++) attempt(admission, { peer: `sybil-${sybil}`, subnet: 'A' }, 'failed')
    assert.throws(() => admission.admit({ peer: `sybil-${sybil}`, subnet: 'A' }), busy, 'a fresh id of a spent subnet')
    assert.throws(() => admission.admit({ peer: 'honest stranger', subnet: 'A' }), busy, 'the price: a stranger sharing the subnet waits too')
    const trusted = admission.admit({ peer: 'trusted', subnet: 'A' })
    assert.equal(trusted.priority, true)
    trusted.settle('verified')
    assert.equal(admission.admit({ peer: 'newcomer', subnet: 'B' }).priority, false, 'another network is not charged')
    c.advance(1000 / subnetFailuresPerSecond)
    assert.doesNotThrow(() => admission.admit({ peer: 'honest stranger', subnet: 'A' }), 'the budget refills')
  })

  it('a verified proof gives standing for an hour, lost with the next failure', () => {
    const c = clock()
    const admission = new ProofAdmission({ now: c.now })
    for (let i = 0; i < DEFAULT_PROOF_ADMISSION.subnetFailureBurst; i++) attempt(admission, { peer: `sybil-${i}`, subnet: 'A' }, 'failed')
    assert.throws(() => admission.admit({ peer: 'proven', subnet: 'A' }), busy)
    c.advance(1000 / DEFAULT_PROOF_ADMISSION.subnetFailuresPerSecond)
    attempt(admission, { peer: 'proven', subnet: 'A' }, 'verified')
    spend(admission, 'A', 'sybil-b')
    const again = admission.admit({ peer: 'proven', subnet: 'A' })
    assert.equal(again.priority, true, 'admitted past the spent subnet')
    again.settle('verified')
    c.advance(DEFAULT_PROOF_ADMISSION.provenStandingMs)
    spend(admission, 'A', 'sybil-c')
    assert.throws(() => admission.admit({ peer: 'proven', subnet: 'A' }), busy, 'standing from a proof lapses')
  })

  it('all strangers together share one budget of failures, across subnets', () => {
    const admission = new ProofAdmission({ now: clock().now })
    const { strangerFailureBurst } = DEFAULT_PROOF_ADMISSION
    for (let i = 0; i < strangerFailureBurst; i++) attempt(admission, { peer: `sybil-${i}`, subnet: `net-${i}` }, 'failed')
    assert.throws(() => admission.admit({ peer: 'fresh', subnet: 'fresh-net' }), busy)
  })

  it('bounds challenges outstanding per peer and per subnet of strangers; settling frees them', () => {
    const admission = new ProofAdmission({ now: clock().now, hasStanding: (peer) => peer === 'trusted' })
    const { challengesPerPeer, strangerChallengesPerSubnet } = DEFAULT_PROOF_ADMISSION
    const held = Array.from({ length: strangerChallengesPerSubnet }, (_, i) => admission.admit({ peer: `s${i % 2}`, subnet: 'A' }))
    assert.throws(() => admission.admit({ peer: 's9', subnet: 'A' }), busy)
    const trusted = Array.from({ length: challengesPerPeer }, () => admission.admit({ peer: 'trusted', subnet: 'A' }))
    assert.throws(() => admission.admit({ peer: 'trusted', subnet: 'A' }), busy, 'standing has a per-peer bound too')
    held[0]!.settle('abandoned')
    held[0]!.settle('abandoned')
    assert.doesNotThrow(() => admission.admit({ peer: 's9', subnet: 'A' }))
    assert.throws(() => admission.admit({ peer: 's10', subnet: 'A' }), busy, 'a second settle frees nothing')
    trusted[0]!.settle('verified')
    assert.doesNotThrow(() => admission.admit({ peer: 'trusted', subnet: 'A' }))
  })

  it('a flood of fresh ids and subnets costs bounded memory', () => {
    const c = clock()
    const admission = new ProofAdmission({ now: c.now, limits: { maxTracked: 1000, strangerFailureBurst: 1e9 } })
    for (let i = 0; i < 20_000; i++) {
      try { attempt(admission, { peer: `sybil-${i}`, subnet: `net-${i}` }, 'failed') } catch { /* refused */ }
      c.advance(1)
    }
    assert.ok(admission.tracked.peers <= 1000 && admission.tracked.subnets <= 1000, JSON.stringify(admission.tracked))
  })
})

describe('FairQueue priority lanes', () => {
  it('a requester with priority is served before every stranger waiting', () => {
    const queue = new FairQueue<string>({ perRequester: 4, perSubnet: 16, total: 256 })
    for (let i = 0; i < 64; i++) queue.push({ peer: `s${i % 16}`, subnet: `net-${i % 4}` }, `stranger-${i}`)
    queue.push({ peer: 'h', subnet: 'net-0', priority: true }, 'honest')
    assert.equal(queue.shift(), 'honest')
    assert.match(String(queue.shift()), /^stranger-/)
  })

  it('when full, a job with priority takes a stranger\'s place, never another\'s with priority', () => {
    const queue = new FairQueue<string>({ perRequester: 4, perSubnet: 4, total: 3 })
    queue.push({ peer: 'a', subnet: 'A', priority: true }, 'a1')
    queue.push({ peer: 's', subnet: 'S' }, 's1')
    queue.push({ peer: 's', subnet: 'S' }, 's2')
    assert.equal(queue.push({ peer: 'b', subnet: 'B', priority: true }, 'b1'), 's2')
    assert.equal(queue.push({ peer: 'c', subnet: 'C', priority: true }, 'c1'), 's1')
    assert.throws(() => queue.push({ peer: 'd', subnet: 'D', priority: true }, 'd1'), busy)
    assert.throws(() => queue.push({ peer: 't', subnet: 'T' }, 't1'), busy)
    assert.deepEqual([queue.shift(), queue.shift(), queue.shift(), queue.shift()], ['a1', 'b1', 'c1', undefined])
  })
})
