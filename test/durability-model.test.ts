import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { describe, it } from 'node:test'
import { lossProbability } from '../src/domain/durability/loss-model.ts'
import { churnRate, departureRate, DEFAULT_DEPARTURE_PRIOR, fileDepartureRate, MONTH_MS, YEAR_MS } from '../src/domain/durability/departure-estimate.ts'
import { DEFAULT_TIMING, fileLoss, schemeLossPerYear, serviceRepairTimes } from '../src/domain/durability/file-durability.ts'
import { InvalidInputError } from '../src/errors.ts'
import { smallFederationLoss } from '../src/domain/durability/small-federation.ts'
import { durabilityEstimator } from '../src/app/owner/durability-estimate.ts'

const DAY = 86_400_000

function close (actual: number, expected: number, relative: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= relative * Math.abs(expected), `${what}: ${actual} against ${expected} (±${relative * 100} %)`)
}

/** P(at least m + 1 of n holders leave within t), each at rate λ, in log space so tiny values keep their digits. */
function binomialLoss (k: number, n: number, lambda: number, t: number): number {
  const q = -Math.expm1(-lambda * t)
  const logQ = Math.log(q)
  const log1mQ = -lambda * t
  let sum = 0
  for (let j = n - k + 1; j <= n; j++) sum += Math.exp(logChoose(n, j) + j * logQ + (n - j) * log1mQ)
  return sum
}

function logChoose (n: number, j: number): number {
  let s = 0
  for (let i = 1; i <= j; i++) s += Math.log(n - j + i) - Math.log(i)
  return s
}

describe('loss model: closed forms', () => {
  it('without repair, a file is lost when more than m of its n holders leave within the horizon', () => {
    for (const [k, n, monthly] of [[1, 3, 0.1], [4, 6, 0.02], [6, 12, 0.1], [7, 14, 0.02], [1, 1, 0.5]] as const) {
      const lambda = churnRate(monthly)
      close(lossProbability({ data: k, shards: n, departureRate: lambda }, YEAR_MS), binomialLoss(k, n, lambda, YEAR_MS), 1e-9, `${k}-of-${n} at ${monthly}`)
    }
  })

  it('keeps its relative precision far below 1e-10 (no 1 - survival to cancel)', () => {
    // 7+7 with holders that leave once in 10,000 years: the loss is ~3e-29
    const lambda = 1 / (10_000 * YEAR_MS)
    const expected = binomialLoss(7, 14, lambda, YEAR_MS)
    assert.ok(expected < 1e-20, `the case is tiny: ${expected}`)
    close(lossProbability({ data: 7, shards: 14, departureRate: lambda }, YEAR_MS), expected, 1e-9, '7+7, λ = 1/10,000 years')
  })

  it('two copies repaired at rate μ match the two-state phase-type survival', () => {
    // states 2 and 1 transient; S(t) = (r1 e^{r2 t} - r2 e^{r1 t}) / (r1 - r2)
    for (const [monthly, repairMs] of [[0.1, DAY], [0.5, 7 * DAY], [0.02, 3_600_000]] as const) {
      const lambda = churnRate(monthly)
      const mu = 1 / repairMs
      const trace = -(3 * lambda + mu)
      const det = 2 * lambda * lambda
      const root = Math.sqrt(trace * trace - 4 * det)
      const r1 = (2 * det) / (trace - root) // the small eigenvalue, without cancellation
      const r2 = (trace - root) / 2
      const t = YEAR_MS
      const expected = (r2 * Math.expm1(r1 * t) - r1 * Math.expm1(r2 * t)) / (r1 - r2)
      close(lossProbability({ data: 1, shards: 2, departureRate: lambda, repairMs }, t), expected, 1e-7, `2 copies, ${monthly}/month, repair ${repairMs} ms`)
    }
  })

  it('a rare loss is the horizon over the mean time to loss (quasi-stationary), solved apart', () => {
    // 3 copies, repair to full from 2 or 1 healthy: mean times to loss τ solve -Q τ = 1
    const lambda = churnRate(0.1)
    const mu = 1 / DAY
    // τ3 = 1/(3λ) + τ2; τ2 = (1 + 2λ τ1 + μ τ3)/(2λ+μ); τ1 = (1 + μ τ3)/(λ+μ)
    // substitute: linear in τ3
    const a1 = 1 / (lambda + mu); const b1 = mu / (lambda + mu) // τ1 = a1 + b1 τ3
    const a2 = (1 + 2 * lambda * a1) / (2 * lambda + mu); const b2 = (2 * lambda * b1 + mu) / (2 * lambda + mu) // τ2 = a2 + b2 τ3
    const tau3 = (1 / (3 * lambda) + a2) / (1 - b2)
    const p = lossProbability({ data: 1, shards: 3, departureRate: lambda, repairMs: DAY }, YEAR_MS)
    close(p, -Math.expm1(-YEAR_MS / tau3), 0.01, '3 copies, 1-day repair')
  })
})

describe('loss model: the issue\'s published figures', () => {
  // Assumptions that reproduce them: λ = 0.1 per 30-day month as a rate (not -ln 0.9),
  // a 365-day year, repair exponential with a mean of one day and rebuilding every
  // missing shard at once, starting at the named threshold.
  it('3 copies without repair ≈ 0.35, with 1-day repair ≈ 8e-5; RS 8+8 at 12 ≈ 1.3e-7; 7+7 at 13 ≈ 5e-10', () => {
    close(schemeLossPerYear({ data: 1, parity: 2, monthlyChurn: 0.1, repair: 'none' }), 0.35, 0.01, '3 copies, no repair')
    close(schemeLossPerYear({ data: 1, parity: 2, monthlyChurn: 0.1, repair: 2, repairMs: DAY }), 8e-5, 0.02, '3 copies, repair')
    close(schemeLossPerYear({ data: 8, parity: 8, monthlyChurn: 0.1, repair: 12, repairMs: DAY }), 1.3e-7, 0.02, '8+8 at 12')
    close(schemeLossPerYear({ data: 7, parity: 7, monthlyChurn: 0.1, repair: 13, repairMs: DAY }), 5e-10, 0.02, '7+7 at 13')
  })
})

describe('loss model: monotone where it must be', () => {
  const base = { data: 4, shards: 8, departureRate: churnRate(0.1), repairMs: 2 * DAY }
  const p = (over: Partial<typeof base> & { repairAt?: number, urgentRepairMs?: number }, horizon = YEAR_MS, healthy?: number): number =>
    lossProbability({ ...base, ...over }, horizon, healthy)

  it('more churn loses more; faster repair, more parity and an earlier threshold lose less', () => {
    const churns = [0.01, 0.02, 0.05, 0.1, 0.2].map((c) => p({ departureRate: churnRate(c) }))
    for (let i = 1; i < churns.length; i++) assert.ok(churns[i]! > churns[i - 1]!, `churn ${i}: ${churns.join(', ')}`)
    const repairs = [0.1, 1, 2, 7, 30].map((d) => p({ repairMs: d * DAY }))
    for (let i = 1; i < repairs.length; i++) assert.ok(repairs[i]! > repairs[i - 1]!, `repair ${i}: ${repairs.join(', ')}`)
    const parities = [1, 2, 3, 4, 5].map((m) => p({ shards: 4 + m }))
    for (let i = 1; i < parities.length; i++) assert.ok(parities[i]! < parities[i - 1]!, `parity ${i}: ${parities.join(', ')}`)
    const thresholds = [4, 5, 6, 7].map((t) => p({ repairAt: t }))
    for (let i = 1; i < thresholds.length; i++) assert.ok(thresholds[i]! < thresholds[i - 1]!, `threshold ${i}: ${thresholds.join(', ')}`)
    assert.ok(p({ urgentRepairMs: 3_600_000 }) < p({}), 'an urgent repair at k helps')
  })

  it('a longer horizon and fewer healthy shards now lose more; below k the file is gone', () => {
    const horizons = [DAY, MONTH_MS, YEAR_MS, 10 * YEAR_MS].map((h) => p({}, h))
    for (let i = 1; i < horizons.length; i++) assert.ok(horizons[i]! > horizons[i - 1]!, `horizon ${i}: ${horizons.join(', ')}`)
    const states = [8, 7, 6, 5, 4].map((h) => p({}, YEAR_MS, h))
    for (let i = 1; i < states.length; i++) assert.ok(states[i]! > states[i - 1]!, `healthy ${8 - i}: ${states.join(', ')}`)
    assert.equal(p({}, YEAR_MS, 3), 1)
    assert.equal(p({ departureRate: 0 }), 0)
    assert.equal(p({}, 0), 0)
  })

  it('refuses a model that is not one', () => {
    assert.throws(() => lossProbability({ data: 0, shards: 3, departureRate: 1 }, YEAR_MS), InvalidInputError)
    assert.throws(() => lossProbability({ data: 4, shards: 3, departureRate: 1 }, YEAR_MS), InvalidInputError)
    assert.throws(() => lossProbability({ data: 1, shards: 3, departureRate: -1 }, YEAR_MS), InvalidInputError)
    assert.throws(() => lossProbability({ data: 1, shards: 3, departureRate: 1, repairMs: 0 }, YEAR_MS), InvalidInputError)
    assert.throws(() => lossProbability({ data: 1, shards: 3, departureRate: 1 }, Number.NaN), InvalidInputError)
    assert.throws(() => lossProbability({ data: 1, shards: 3, departureRate: 1 }, YEAR_MS, 4), InvalidInputError)
  })
})

describe('the repair service as the model sees it', () => {
  it('repairs a loss after half a round, repairAfter rounded up to rounds; a stripe at k within half a round', () => {
    assert.deepEqual(serviceRepairTimes(DEFAULT_TIMING), { repairMs: 24.5 * 3_600_000, urgentRepairMs: 1_800_000 })
    assert.deepEqual(serviceRepairTimes({ repairAfterMs: 90 * 60_000, auditEveryMs: 3_600_000 }), { repairMs: 2.5 * 3_600_000, urgentRepairMs: 1_800_000 })
  })

  it('the default 6+6 keeps a file to ≤ 1e-9 a year at 10 % monthly churn; 3 copies do not', () => {
    assert.ok(schemeLossPerYear({ data: 6, parity: 6, monthlyChurn: 0.1, repair: 'service' }) <= 1e-9)
    assert.ok(schemeLossPerYear({ data: 1, parity: 2, monthlyChurn: 0.1, repair: 'service' }) > 1e-9)
  })

  it("a file's estimate grows as it loses shards, and with its holders' departure rate", () => {
    const file = { data: 6, shards: 12, healthy: 12, departureRate: churnRate(0.1) }
    const whole = fileLoss(file, DEFAULT_TIMING)
    const degraded = fileLoss({ ...file, healthy: 8 }, DEFAULT_TIMING)
    const churny = fileLoss({ ...file, departureRate: churnRate(0.3) }, DEFAULT_TIMING)
    assert.ok(whole < degraded && whole < churny, `${whole} ${degraded} ${churny}`)
    assert.equal(fileLoss({ ...file, healthy: 5 }, DEFAULT_TIMING), 1)
  })
})

describe('departure rate from the peer book', () => {
  const now = 10 * YEAR_MS

  it('a newcomer gets the prior; a long-lived, always-up holder a lower rate, never below the floor', () => {
    assert.equal(departureRate({}, now), DEFAULT_DEPARTURE_PRIOR.rate)
    assert.equal(departureRate({ firstSeen: now, probes: 0, successes: 0 }, now), DEFAULT_DEPARTURE_PRIOR.rate)
    const twoYears = departureRate({ firstSeen: now - 2 * YEAR_MS, probes: 1000, successes: 950 }, now)
    close(twoYears * MONTH_MS, 1 / (10 + (2 * YEAR_MS / MONTH_MS) * (951 / 1002)), 1e-9, 'two years at 95 %')
    assert.ok(twoYears < DEFAULT_DEPARTURE_PRIOR.rate)
    assert.equal(departureRate({ firstSeen: 0, probes: 1e6, successes: 1e6 }, 30 * YEAR_MS), DEFAULT_DEPARTURE_PRIOR.floor)
  })

  it('time away is no evidence of staying: a holder that rarely answers keeps a higher rate', () => {
    const up = departureRate({ firstSeen: now - YEAR_MS, probes: 100, successes: 100 }, now)
    const away = departureRate({ firstSeen: now - YEAR_MS, probes: 100, successes: 10 }, now)
    assert.ok(away > up, `${away} > ${up}`)
  })

  it('an attacker cannot look older than it is: a first-seen in the future or answers beyond the probes count for nothing', () => {
    assert.equal(departureRate({ firstSeen: now + YEAR_MS, probes: 10, successes: 10 }, now), DEFAULT_DEPARTURE_PRIOR.rate)
    const honest = departureRate({ firstSeen: now - YEAR_MS, probes: 10, successes: 10 }, now)
    assert.equal(departureRate({ firstSeen: now - YEAR_MS, probes: 10, successes: 1e9 }, now), honest)
  })

  it('a corrupt counter is no evidence: a NaN, negative or infinite count gives the rate of none, never NaN', () => {
    const none = departureRate({ firstSeen: now - YEAR_MS, probes: 0, successes: 0 }, now)
    for (const [probes, successes] of [[Number.NaN, 5], [-3, -1], [Infinity, Infinity]]) {
      assert.equal(departureRate({ firstSeen: now - YEAR_MS, probes, successes }, now), none, `${probes} ${successes}`)
    }
    assert.equal(departureRate({ firstSeen: now - YEAR_MS, probes: 10, successes: Number.NaN }, now), departureRate({ firstSeen: now - YEAR_MS, probes: 10, successes: 0 }, now), 'probes unanswered')
    // one such holder once made the model refuse, and so GET /v1/files fail for every file
    const estimate = durabilityEstimator(DEFAULT_TIMING)({ healthy: 12, needed: 6, total: 12 }, [{ firstSeen: now - YEAR_MS, probes: Number.NaN, successes: 1 }], now)
    assert.ok(Number.isFinite(estimate.lossPerYear) && estimate.lossPerYear > 0, String(estimate.lossPerYear))
  })

  it('the estimate rounds the rate up, never down: it does not show a file safer than its holders are', () => {
    const health = { healthy: 12, needed: 6, total: 12 }
    // a holder whose rate's two digits round down by more than 3 %
    let holder
    for (let days = 1; days < 3000 && holder === undefined; days++) {
      const candidate = { firstSeen: now - days * DAY, probes: 100, successes: 100 }
      const rate = departureRate(candidate, now)
      if (Number(rate.toPrecision(2)) < rate * 0.97) holder = candidate
    }
    assert.ok(holder !== undefined)
    const exact = fileLoss({ data: 6, shards: 12, healthy: 12, departureRate: departureRate(holder, now) }, DEFAULT_TIMING)
    const shown = durabilityEstimator(DEFAULT_TIMING)(health, [holder], now)
    assert.ok(shown.lossPerYear >= exact, `${shown.lossPerYear} >= ${exact}`)
    assert.ok(shown.holderDeparturesPerYear >= departureRate(holder, now) * YEAR_MS)
    assert.ok(shown.lossPerYear < exact * 1.5, 'by two digits, not more')
  })

  it("a file's rate is its holders' mean, the prior when it has none", () => {
    assert.equal(fileDepartureRate([1, 2, 3]), 2)
    assert.equal(fileDepartureRate([]), DEFAULT_DEPARTURE_PRIOR.rate)
  })
})

describe('a federation too small to always have a spare node', () => {
  const lambda = churnRate(0.1)

  it('with no spare box and no newcomer it cannot repair: the loss is the no-repair one', () => {
    const p = smallFederationLoss({ data: 1, shards: 3, departureRate: lambda, repairMs: DAY, others: 3 }, YEAR_MS)
    close(p, binomialLoss(1, 3, lambda, YEAR_MS), 1e-9, '3 copies on the only 3 other boxes')
  })

  it('with departed boxes replaced at once it is the large-federation model', () => {
    for (const [k, n, others] of [[1, 3, 4], [2, 4, 6]] as const) {
      const small = smallFederationLoss({ data: k, shards: n, departureRate: lambda, repairMs: DAY, others, replaceMs: 1000 }, YEAR_MS)
      close(small, lossProbability({ data: k, shards: n, departureRate: lambda, repairMs: DAY }, YEAR_MS), 1e-3, `${k}-of-${n} on ${others}`)
    }
  })

  it('slower replacement and fewer spare boxes lose more', () => {
    const base = { data: 1, shards: 3, departureRate: lambda, repairMs: DAY, urgentRepairMs: DAY / 48 }
    const byReplacement = [DAY, MONTH_MS, 6 * MONTH_MS, undefined].map((replaceMs) => smallFederationLoss({ ...base, others: 4, ...(replaceMs === undefined ? {} : { replaceMs }) }, YEAR_MS))
    for (let i = 1; i < byReplacement.length; i++) assert.ok(byReplacement[i]! > byReplacement[i - 1]!, byReplacement.join(', '))
    const bySize = [3, 4, 6, 10].map((others) => smallFederationLoss({ ...base, others, replaceMs: MONTH_MS }, YEAR_MS))
    for (let i = 1; i < bySize.length; i++) assert.ok(bySize[i]! < bySize[i - 1]!, bySize.join(', '))
  })

  it('refuses a federation without room for the shards', () => {
    assert.throws(() => smallFederationLoss({ data: 1, shards: 3, departureRate: lambda, others: 2 }, YEAR_MS), InvalidInputError)
  })
})

describe('docs/durability.md', () => {
  it('carries the tables scripts/durability-table.ts prints now', async () => {
    const root = resolve(import.meta.dirname, '..')
    const { stdout } = await promisify(execFile)(process.execPath, [join(root, 'scripts/durability-table.ts')], { cwd: root })
    const doc = await readFile(join(root, 'docs/durability.md'), 'utf8')
    assert.ok(stdout.includes('| 6+6 |'), 'the script printed its tables')
    assert.ok(doc.includes(stdout.trim()), 'docs/durability.md is out of date: paste the output of bash scripts/node.sh scripts/durability-table.ts')
  })
})
