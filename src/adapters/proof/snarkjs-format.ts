import { assertWellFormedProof, MalformedProofError, type Groth16Proof } from '../../domain/proofs/groth16-proof.ts'

/**
 * snarkjs' proof JSON: decimal strings, points in projective form with z = 1
 * (`pi_a = [x, y, "1"]`, `pi_b = [[x.c0, x.c1], [y.c0, y.c1], ["1", "0"]]`).
 */
export interface SnarkjsProofJson {
  pi_a: string[]
  pi_b: string[][]
  pi_c: string[]
  protocol: 'groth16'
  curve: 'bn128'
}

const DECIMAL = /^(0|[1-9][0-9]{0,77})$/

/** Converts snarkjs JSON to a Groth16Proof; MalformedProofError for anything else. */
export function groth16ProofFromSnarkjs (json: unknown): Groth16Proof {
  const p = json as Partial<Record<'pi_a' | 'pi_b' | 'pi_c', unknown>> | null
  if (typeof p !== 'object' || p === null) throw new MalformedProofError('a snarkjs proof must be an object')
  const proof = {
    a: g1(p.pi_a),
    b: g2(p.pi_b),
    c: g1(p.pi_c)
  }
  assertWellFormedProof(proof)
  return proof
}

export function groth16ProofToSnarkjs (proof: Groth16Proof): SnarkjsProofJson {
  assertWellFormedProof(proof)
  const s = (v: bigint) => v.toString()
  return {
    pi_a: [s(proof.a[0]), s(proof.a[1]), '1'],
    pi_b: [[s(proof.b[0][0]), s(proof.b[0][1])], [s(proof.b[1][0]), s(proof.b[1][1])], ['1', '0']],
    pi_c: [s(proof.c[0]), s(proof.c[1]), '1'],
    protocol: 'groth16',
    curve: 'bn128'
  }
}

function scalar (v: unknown): bigint {
  if (typeof v !== 'string' || !DECIMAL.test(v)) throw new MalformedProofError('a proof coordinate must be a decimal string')
  return BigInt(v)
}

function g1 (v: unknown): [bigint, bigint] {
  if (!Array.isArray(v) || v.length !== 3 || v[2] !== '1') throw new MalformedProofError('a G1 point must be [x, y, "1"]')
  return [scalar(v[0]), scalar(v[1])]
}

function g2 (v: unknown): [[bigint, bigint], [bigint, bigint]] {
  if (!Array.isArray(v) || v.length !== 3 || !Array.isArray(v[2]) || v[2][0] !== '1' || v[2][1] !== '0') {
    throw new MalformedProofError('a G2 point must be [[x0, x1], [y0, y1], ["1", "0"]]')
  }
  const pair = (w: unknown): [bigint, bigint] => {
    if (!Array.isArray(w) || w.length !== 2) throw new MalformedProofError('an Fq2 coordinate must be [c0, c1]')
    return [scalar(w[0]), scalar(w[1])]
  }
  return [pair(v[0]), pair(v[1])]
}
