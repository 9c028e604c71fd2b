import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DEFAULT_CONFIG, parseNodeConfig, placementPolicyOf, proofAdmissionLimitsOf } from '../src/domain/config/node-config.ts'
import { DEFAULT_PROOF_ADMISSION } from '../src/adapters/proof/proof-admission.ts'
import { DEFAULT_PLACEMENT_POLICY } from '../src/domain/membership/placement.ts'
import { ConfigError } from '../src/errors.ts'

describe('node config: proof admission and placement limits', () => {
  it('defaults are the limits proof admission and placement use when given none', () => {
    const limits = proofAdmissionLimitsOf(parseNodeConfig({}))
    for (const [key, value] of Object.entries(limits)) assert.equal(value, DEFAULT_PROOF_ADMISSION[key as keyof typeof DEFAULT_PROOF_ADMISSION], key)
    assert.deepEqual(placementPolicyOf(parseNodeConfig({})), { ...DEFAULT_PLACEMENT_POLICY })
  })

  it('parses counts, durations, shares and sizes into the names the limits have', () => {
    const config = parseNodeConfig({
      proofChallengesPerPeer: 4,
      proofChallengesPerSubnet: 2,
      proofFailureCooldown: '5s',
      proofMaxCooldown: '1h',
      proofSubnetFailureBurst: 3,
      proofSubnetFailuresPerSecond: 1,
      proofStrangerFailureBurst: 10,
      proofStrangerFailuresPerSecond: 5,
      placementSubnetShare: 0.5,
      placementNewCohortShare: 0.25,
      placementNewCohort: '2h',
      placementMaxWeight: '1TiB',
      placementMatureAfter: '20d'
    })
    assert.deepEqual(proofAdmissionLimitsOf(config), {
      challengesPerPeer: 4,
      strangerChallengesPerSubnet: 2,
      firstCooldownMs: 5000,
      maxCooldownMs: 3_600_000,
      subnetFailureBurst: 3,
      subnetFailuresPerSecond: 1,
      strangerFailureBurst: 10,
      strangerFailuresPerSecond: 5
    })
    assert.deepEqual(placementPolicyOf(config), {
      maxSubnetShare: 0.5, maxNewCohortShare: 0.25, newCohortMs: 2 * 3_600_000, maxWeightBytes: 2 ** 40, matureAfterMs: 20 * 24 * 3_600_000
    })
  })

  it('refuses values the limits cannot take, naming the setting', () => {
    const bad: Array<[string, unknown]> = [
      ['proofChallengesPerPeer', 0],
      ['proofChallengesPerSubnet', 1.5],
      ['proofSubnetFailuresPerSecond', -1],
      ['proofStrangerFailureBurst', 'many'],
      ['proofFailureCooldown', '10ms'],
      ['placementSubnetShare', 0],
      ['placementSubnetShare', 1.2],
      ['placementNewCohortShare', '1/3'],
      ['placementMaxWeight', -5],
      ['placementMatureAfter', 'soon']
    ]
    for (const [key, value] of bad) {
      assert.throws(() => parseNodeConfig({ [key]: value }), (err: unknown) => err instanceof ConfigError && err.message.includes(key), `${key} = ${JSON.stringify(value)}`)
    }
    assert.throws(() => parseNodeConfig({ proofFailureCooldown: '20m', proofMaxCooldown: '10m' }), /cannot exceed "proofMaxCooldown"/)
    assert.equal(parseNodeConfig({ proofFailureCooldown: '10m' }).proofFailureCooldown, DEFAULT_CONFIG.proofMaxCooldown)
  })
})
