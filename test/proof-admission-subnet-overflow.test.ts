import assert from 'node:assert/strict'
import { it } from 'node:test'
import { DEFAULT_PROOF_ADMISSION, ProofAdmission } from '../src/adapters/proof/proof-admission.ts'

const busy = { name: 'BusyError' }

/** Fresh ids of `subnet` fail proofs until its strangers are refused; how many were admitted. */
function spend (admission: ProofAdmission, subnet: string): number {
  for (let i = 0; ; i++) {
    try { admission.admit({ peer: `${subnet}-${i}`, subnet }).settle('failed') } catch { return i }
  }
}

/**
 * The attack: an attacker holding maxTracked + 1 networks (IPv6 /48s cost little) spends
 * the failure budget of each, in turn. Were subnets forgotten by age once the table is
 * full, the 10,001st would push the first out and the first would come back with a fresh
 * budget: an endless supply of failed proofs, each a ~10 ms pairing of the node's CPU.
 */
it('an attacker with more subnets than are tracked cannot reset its own spent budgets', () => {
  let t = 1_000_000
  const now = (): number => t
  const { maxTracked, subnetFailureBurst, subnetFailuresPerSecond } = DEFAULT_PROOF_ADMISSION
  // the strangers-wide budget would hide the hole: open it wide, as many relays would
  const admission = new ProofAdmission({ now, limits: { strangerFailureBurst: 1e12 } })
  for (let i = 0; i < maxTracked; i++) assert.equal(spend(admission, `net-${i}`), subnetFailureBurst)
  // beyond the table, newcomers share one budget as strict as one subnet's
  let overflowed = 0
  for (let i = maxTracked; i < maxTracked + 50; i++) overflowed += spend(admission, `net-${i}`)
  assert.equal(overflowed, subnetFailureBurst, 'fifty more subnets, one subnet\'s failures')
  assert.throws(() => admission.admit({ peer: 'again', subnet: 'net-0' }), busy, 'the first subnet is still paying for its failures')
  assert.ok(admission.tracked.subnets <= maxTracked)

  // an honest network arriving now waits with the overflow, not for ever: once budgets
  // are full again (burst / rate seconds), their records are forgotten and it gets its own
  t += Math.ceil(subnetFailureBurst / subnetFailuresPerSecond) * 1000 + 1000
  assert.doesNotThrow(() => admission.admit({ peer: 'honest', subnet: 'net-honest' }).settle('verified'))
  assert.doesNotThrow(() => admission.admit({ peer: 'again', subnet: 'net-0' }).settle('abandoned'), 'and a subnet whose budget came back may try again')
})
