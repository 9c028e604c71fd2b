import { defineError } from '../../errors.ts'

/**
 * A Groth16 proof over BN254 in affine coordinates: A and C on G1, B on G2.
 *
 * G2 coordinates are elements of Fq2 = Fq[u]/(u² + 1), written [c0, c1] for
 * c0 + c1·u, the order snarkjs uses in its JSON (`pi_b[0] = [x.c0, x.c1]`).
 *
 * A value of this type is well-formed (see `assertWellFormedProof`), not valid: whether
 * the points lie on the curve and the pairing equation holds is the Verifier's job.
 */
export interface Groth16Proof {
  a: [bigint, bigint]
  b: [[bigint, bigint], [bigint, bigint]]
  c: [bigint, bigint]
}

/** Modulus q of the BN254 base field Fq, over which the curve points' coordinates lie. */
export const BN254_BASE_FIELD_MODULUS = 21888242871839275222246405745257275088696311157297823662689037894645226208583n

/** Bytes of the wire form: A (64) ‖ B (128) ‖ C (64). */
export const GROTH16_PROOF_BYTES = 256
const COORDINATE_BYTES = 32

/** Proof bytes or a proof object that cannot be a proof: wrong size, shape, or a coordinate >= q. */
export const MalformedProofError = defineError('MalformedProofError', 'malformed-proof')
export type MalformedProofError = InstanceType<typeof MalformedProofError>

/**
 * The 256-byte wire form, eight 32-byte big-endian coordinates in this order:
 * A.x, A.y, B.x.c0, B.x.c1, B.y.c0, B.y.c1, C.x, C.y.
 * (EIP-197 puts c1 before c0; this format does not.)
 */
export function encodeGroth16Proof (proof: Groth16Proof): Uint8Array {
  assertWellFormedProof(proof)
  const out = new Uint8Array(GROTH16_PROOF_BYTES)
  coordinates(proof).forEach((value, i) => writeUint256(out, i * COORDINATE_BYTES, value))
  return out
}

/** Parses the wire form; throws MalformedProofError for any length but 256 or a coordinate >= q. */
export function decodeGroth16Proof (bytes: Uint8Array): Groth16Proof {
  if (!(bytes instanceof Uint8Array) || bytes.byteLength !== GROTH16_PROOF_BYTES) {
    throw new MalformedProofError(`a proof is ${GROTH16_PROOF_BYTES} bytes, got ${bytes instanceof Uint8Array ? bytes.byteLength : typeof bytes}`)
  }
  const v: bigint[] = []
  for (let i = 0; i < 8; i++) {
    const value = readUint256(bytes, i * COORDINATE_BYTES)
    // Only canonical coordinates: otherwise x and x + q would be two encodings of one proof.
    if (value >= BN254_BASE_FIELD_MODULUS) throw new MalformedProofError(`proof coordinate ${i} is not below the base field modulus`)
    v.push(value)
  }
  const [ax, ay, bx0, bx1, by0, by1, cx, cy] = v as [bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint]
  return { a: [ax, ay], b: [[bx0, bx1], [by0, by1]], c: [cx, cy] }
}

/** Throws MalformedProofError unless `value` has the Groth16Proof shape with every coordinate in [0, q). */
export function assertWellFormedProof (value: unknown): asserts value is Groth16Proof {
  if (typeof value !== 'object' || value === null) throw new MalformedProofError('a proof must be an object')
  const { a, b, c } = value as Record<string, unknown>
  if (!isPair(a) || !isPair(c) || !Array.isArray(b) || b.length !== 2 || !isPair(b[0]) || !isPair(b[1])) {
    throw new MalformedProofError('a proof is { a: [x, y], b: [[x0, x1], [y0, y1]], c: [x, y] } of bigints')
  }
  for (const coordinate of coordinates(value as Groth16Proof)) {
    if (coordinate >= BN254_BASE_FIELD_MODULUS) throw new MalformedProofError('a proof coordinate is not below the base field modulus')
  }
}

function isPair (value: unknown): value is [bigint, bigint] {
  return Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === 'bigint' && v >= 0n)
}

function coordinates (p: Groth16Proof): bigint[] {
  return [p.a[0], p.a[1], p.b[0][0], p.b[0][1], p.b[1][0], p.b[1][1], p.c[0], p.c[1]]
}

function writeUint256 (out: Uint8Array, offset: number, value: bigint): void {
  for (let i = COORDINATE_BYTES - 1; i >= 0; i--) {
    out[offset + i] = Number(value & 0xffn)
    value >>= 8n
  }
}

function readUint256 (bytes: Uint8Array, offset: number): bigint {
  let value = 0n
  for (let i = 0; i < COORDINATE_BYTES; i++) value = (value << 8n) | BigInt(bytes[offset + i]!)
  return value
}
