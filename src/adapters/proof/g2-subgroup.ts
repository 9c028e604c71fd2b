import type { BnCurve } from 'ffjavascript'

/** The BN254 curve parameter x (u in some papers): p, r and the twist all derive from it. */
const BN254_X = 4965661367192848881n

/**
 * Membership test for BN254's G2, the order-r subgroup of the twist E'(Fq2), at half
 * the cost of checking r·P = O.
 *
 * A point P on the twist lies in G2 if and only if ψ(P) = [6x²]P, where ψ is the
 * untwist-Frobenius-twist endomorphism (El Housni, Guillevic, Piellard, "Co-factor
 * clearing and subgroup membership testing on pairing-friendly curves", 2022, the
 * check arkworks and gnark use for BN254). On BN254's D-type twist,
 * ψ(x, y) = (conj(x)·ξ^((q-1)/3), conj(y)·ξ^((q-1)/2)) with ξ = 9 + u; the two
 * constants are computed here rather than copied. [6x²] is a 127-bit scalar where r has
 * 254 bits. test/g2-subgroup.test.ts holds it to r·P = O on points in and outside G2.
 *
 * `p` is an affine point already known to be on the twist and not the point at infinity.
 */
export function makeG2SubgroupCheck (curve: BnCurve): (p: Uint8Array) => boolean {
  const { F1, F2, G2, q } = curve
  const xi = F2.fromObject([9n, 1n])
  const psiX = F2.exp(xi, (q - 1n) / 3n)
  const psiY = F2.exp(xi, (q - 1n) / 2n)
  const sixXSquared = 6n * BN254_X * BN254_X
  const n = F1.n8

  const conjugate = (a: Uint8Array): Uint8Array => {
    const out = new Uint8Array(2 * n)
    out.set(a.subarray(0, n))
    out.set(F1.neg(a.slice(n, 2 * n)), n)
    return out
  }

  return (p) => {
    const psi = new Uint8Array(4 * n)
    psi.set(F2.mul(conjugate(p.slice(0, 2 * n)), psiX))
    psi.set(F2.mul(conjugate(p.slice(2 * n, 4 * n)), psiY), 2 * n)
    return G2.eq(G2.timesScalar(p, sixXSquared), psi)
  }
}
