import { buildBn128, type BnCurve } from 'ffjavascript'
import { ClosedError, throwIfAborted } from '../../errors.ts'
import { assertFieldElement } from '../../domain/proofs/field-element.ts'
import { assertWellFormedProof, type Groth16Proof } from '../../domain/proofs/groth16-proof.ts'
import type { AbortOptions } from '../../ports/abort-options.ts'
import { ProofVerificationError } from '../../domain/proofs/proof-errors.ts'
import type { Verifier, VerifyInput } from '../../ports/verifier.ts'
import { makeG2SubgroupCheck } from './g2-subgroup.ts'
import { InvalidVerificationKeyError, parseVerificationKey, type VerificationKey } from './verification-key.ts'

type Point = Uint8Array

export interface SnarkjsVerifierInit {
  /** A parsed verification_key.json (ProofArtefacts.verificationKey). */
  verificationKey: VerificationKey
}

/**
 * Groth16 verifier on snarkjs' curve library (ffjavascript's BN254 in wasm), doing
 * the work of snarkjs' `groth16.verify` without its per-call costs.
 *
 * The curve is built once, single-threaded and private to this verifier: a pairing
 * check is a few milliseconds of work, less than handing it to worker threads, and a
 * private curve cannot be terminated under us by another user of the shared one. The
 * verification key is parsed, checked and prepared once: its G2 points' Miller-loop
 * coefficients and the Miller loop of e(alpha, beta) are computed at start-up, so a
 * verification costs two scalar multiplications in G1, one G2 subgroup check, three
 * Miller loops and one final exponentiation. It checks
 *
 *   e(A, B) = e(alpha, beta) · e(L, gamma) · e(C, delta),  L = IC0 + commitment·IC1 + context·IC2
 *
 * as  finalExp(ML(-A, B) · ML(L, gamma) · ML(C, delta) · ML(alpha, beta)) = 1,
 * after checking that A and C are on G1 (cofactor 1, so also in the subgroup) and B is
 * on the twist and in its order-r subgroup, none of them the point at infinity.
 * snarkjs 0.7's own verify checks the curve equation only.
 *
 * A verification runs synchronously (~8–11 ms on the reference machine) and holds the
 * event loop meanwhile; a node verifying at high rates would run verifiers in workers.
 */
export class SnarkjsVerifier implements Verifier {
  private readonly curve: BnCurve
  private readonly ic: [Point, Point, Point]
  private readonly gammaPrepared: Point
  private readonly deltaPrepared: Point
  private readonly alphaBetaLoop: Point
  private readonly inG2Subgroup: (p: Point) => boolean
  private closed = false

  private constructor (curve: BnCurve, vk: VerificationKey) {
    this.curve = curve
    this.inG2Subgroup = makeG2SubgroupCheck(curve)
    const { G1, G2 } = curve
    const g1 = (p: string[]) => G1.fromObject(p.slice(0, 2).map(BigInt))
    const g2 = (p: string[][]) => G2.fromObject(p.slice(0, 2).map((c) => c.map(BigInt)))
    const alpha = g1(vk.vk_alpha_1)
    const [beta, gamma, delta] = [g2(vk.vk_beta_2), g2(vk.vk_gamma_2), g2(vk.vk_delta_2)]
    const ic = vk.IC.map(g1)
    for (const p of [alpha, ...ic]) {
      if (!this.inG1(p)) throw new InvalidVerificationKeyError('verification key: a G1 point is not on the curve')
    }
    for (const p of [beta, gamma, delta]) {
      if (!this.inG2(p)) throw new InvalidVerificationKeyError('verification key: a G2 point is not in the subgroup')
    }
    this.ic = ic as [Point, Point, Point]
    this.gammaPrepared = curve.prepareG2(G2.toJacobian(gamma))
    this.deltaPrepared = curve.prepareG2(G2.toJacobian(delta))
    this.alphaBetaLoop = curve.millerLoop(curve.prepareG1(G1.toJacobian(alpha)), curve.prepareG2(G2.toJacobian(beta)))
  }

  static async create (init: SnarkjsVerifierInit): Promise<SnarkjsVerifier> {
    const vk = parseVerificationKey(init.verificationKey)
    const curve = await buildBn128(true)
    try {
      return new SnarkjsVerifier(curve, vk)
    } catch (err) {
      await curve.terminate()
      if (err instanceof InvalidVerificationKeyError) throw err
      throw new InvalidVerificationKeyError('verification key: points are not on BN254', { cause: err })
    }
  }

  async verify (input: VerifyInput, options: AbortOptions = {}): Promise<boolean> {
    if (this.closed) throw new ClosedError('the verifier is closed')
    throwIfAborted(options.signal)
    const { proof, commitment, context } = input
    assertWellFormedProof(proof)
    assertFieldElement(commitment, 'commitment')
    assertFieldElement(context, 'context')
    try {
      return this.check(proof, commitment, context)
    } catch (err) {
      throw new ProofVerificationError('the verifier failed', { cause: err })
    }
  }

  private check (proof: Groth16Proof, commitment: bigint, context: bigint): boolean {
    const { curve } = this
    const { G1, G2, Gt } = curve
    const a = G1.fromObject(proof.a)
    const b = G2.fromObject(proof.b)
    const c = G1.fromObject(proof.c)
    if (!this.inG1(a) || !this.inG1(c) || !this.inG2(b)) return false

    const [ic0, ic1, ic2] = this.ic
    const l = G1.add(G1.add(ic0, G1.timesScalar(ic1, commitment)), G1.timesScalar(ic2, context))

    let f = curve.millerLoop(curve.prepareG1(G1.toJacobian(G1.neg(a))), curve.prepareG2(G2.toJacobian(b)))
    f = Gt.mul(f, curve.millerLoop(curve.prepareG1(G1.toJacobian(c)), this.deltaPrepared))
    f = Gt.mul(f, this.alphaBetaLoop)
    // e(infinity, gamma) = 1; only reachable if the public inputs cancel IC0 exactly.
    if (!G1.isZero(l)) f = Gt.mul(f, curve.millerLoop(curve.prepareG1(l), this.gammaPrepared))
    return Gt.eq(curve.finalExponentiation(f), Gt.one)
  }

  /** On y² = x³ + 3 and not infinity; G1 has cofactor 1, so that is the subgroup. */
  private inG1 (p: Point): boolean {
    return !this.curve.G1.isZero(p) && this.curve.G1.isValid(p)
  }

  /** On the twist y² = x³ + 3/(9+u), not infinity, and in the order-r subgroup. */
  private inG2 (p: Point): boolean {
    const { G2 } = this.curve
    return !G2.isZero(p) && G2.isValid(p) && this.inG2Subgroup(p)
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    // A single-threaded curve owns no workers; terminate() is the documented release.
    await this.curve.terminate()
  }
}
