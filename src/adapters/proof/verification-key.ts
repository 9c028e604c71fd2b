import { defineError } from '../../errors.ts'

/** snarkjs' verification_key.json for a Groth16 key on BN254 (decimal strings, projective points). */
export interface VerificationKey {
  protocol: 'groth16'
  curve: 'bn128'
  nPublic: number
  vk_alpha_1: string[]
  vk_beta_2: string[][]
  vk_gamma_2: string[][]
  vk_delta_2: string[][]
  IC: string[][]
}

/** Quloud's circuit has two public inputs: commitment, context. */
export const OWNERSHIP_PUBLIC_INPUTS = 2

/** A verification key that is not a Groth16 BN254 key for the ownership circuit. */
export const InvalidVerificationKeyError = defineError('InvalidVerificationKeyError', 'invalid-verification-key')
export type InvalidVerificationKeyError = InstanceType<typeof InvalidVerificationKeyError>

const DECIMAL = /^[0-9]{1,78}$/

/** Checks the shape of a parsed verification_key.json; the verifier checks the points themselves. */
export function parseVerificationKey (json: unknown): VerificationKey {
  const vk = json as Partial<VerificationKey> | null
  const fail = (why: string): never => { throw new InvalidVerificationKeyError(`verification key: ${why}`) }
  if (typeof vk !== 'object' || vk === null) return fail('not an object')
  if (vk.protocol !== 'groth16') fail('protocol is not groth16')
  if (vk.curve !== 'bn128') fail('curve is not bn128')
  if (vk.nPublic !== OWNERSHIP_PUBLIC_INPUTS) fail(`expected ${OWNERSHIP_PUBLIC_INPUTS} public inputs`)
  if (!isG1(vk.vk_alpha_1)) fail('vk_alpha_1 is not a G1 point')
  for (const name of ['vk_beta_2', 'vk_gamma_2', 'vk_delta_2'] as const) {
    if (!isG2(vk[name])) fail(`${name} is not a G2 point`)
  }
  if (!Array.isArray(vk.IC) || vk.IC.length !== OWNERSHIP_PUBLIC_INPUTS + 1 || !vk.IC.every(isG1)) {
    fail(`IC must hold ${OWNERSHIP_PUBLIC_INPUTS + 1} G1 points`)
  }
  return vk as VerificationKey
}

// Affine [x, y] or projective [x, y, z] with z = 1, as snarkjs writes them.
function isG1 (p: unknown): boolean {
  return Array.isArray(p) && (p.length === 2 || (p.length === 3 && p[2] === '1')) &&
    p.every((v) => typeof v === 'string' && DECIMAL.test(v))
}

function isG2 (p: unknown): boolean {
  return Array.isArray(p) && (p.length === 2 || (p.length === 3 && p[2]?.[0] === '1' && p[2]?.[1] === '0')) &&
    p.every((v) => Array.isArray(v) && v.length === 2 && v.every((c) => typeof c === 'string' && DECIMAL.test(c)))
}
