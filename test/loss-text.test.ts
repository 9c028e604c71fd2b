import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { formatLossPerYear } from '../src/cli/loss-text.ts'

describe("ls's loss column", () => {
  it('one significant digit, a percentage from 1 %, a floor, and a file unreadable now', () => {
    assert.equal(formatLossPerYear(1.2536e-10), '≈1e-10/yr')
    assert.equal(formatLossPerYear(5.02e-10), '≈5e-10/yr')
    assert.equal(formatLossPerYear(9.6e-10), '≈1e-9/yr')
    assert.equal(formatLossPerYear(7.9e-5), '≈8e-5/yr')
    assert.equal(formatLossPerYear(0.3486), '≈35%/yr')
    assert.equal(formatLossPerYear(1e-18), '<1e-15/yr')
    assert.equal(formatLossPerYear(0), '<1e-15/yr')
    assert.equal(formatLossPerYear(1), 'lost?')
    assert.equal(formatLossPerYear(Number.NaN), '-')
    for (const p of [1e-14, 3.3e-7, 0.009, 0.5]) assert.ok(formatLossPerYear(p).length <= 10, formatLossPerYear(p))
  })
})
