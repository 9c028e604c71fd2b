import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { buildBn128, type BnCurve } from 'ffjavascript'
import { makeG2SubgroupCheck } from '../src/adapters/proof/g2-subgroup.ts'

describe('G2 subgroup check by endomorphism', () => {
  let curve: BnCurve
  let inG2: (p: Uint8Array) => boolean
  before(async () => {
    curve = await buildBn128(true)
    inG2 = makeG2SubgroupCheck(curve)
  })
  after(async () => { await curve.terminate() })

  const byDefinition = (p: Uint8Array) => curve.G2.isZero(curve.G2.timesScalar(p, curve.r))

  it('accepts multiples of the generator', () => {
    const { G2 } = curve
    for (const k of [1n, 2n, 3n, 0xdeadbeefn, curve.r - 1n, (1n << 200n) + 17n]) {
      const p = G2.toAffine(G2.timesScalar(G2.oneAffine, k))
      assert.equal(byDefinition(p), true)
      assert.equal(inG2(p), true, `[${k}]G`)
    }
  })

  it('agrees with r·P = O on twist points outside the subgroup, and on their G2 part', () => {
    const { F2, G2 } = curve
    // Points found by walking x are on the twist and, the cofactor being ~2^254,
    // practically never in G2; adding the generator keeps them outside.
    let found = 0
    for (let k = 1n; found < 8; k++) {
      const x = F2.fromObject([k, 2n])
      const rhs = F2.add(F2.mul(F2.square(x), x), G2.b)
      if (!F2.isSquare(rhs)) continue
      const p = new Uint8Array(F2.n8 * 2)
      p.set(x)
      p.set(F2.sqrt(rhs), F2.n8)
      assert.ok(G2.isValid(p))
      assert.equal(inG2(p), byDefinition(p), `x = ${k} + 2u`)
      assert.equal(inG2(p), false)
      const shifted = G2.toAffine(G2.add(p, G2.oneAffine))
      assert.equal(inG2(shifted), byDefinition(shifted))
      found++
    }
  })
})
