import { defineError } from '../../errors.ts'

/**
 * Order r of the BN254 (alt_bn128) scalar field: circom signals, Poseidon inputs and
 * outputs, and Groth16 public inputs are integers in [0, r).
 */
export const BN254_SCALAR_FIELD_ORDER = 21888242871839275222246405745257275088548364400416034343698204186575808495617n

/** A value meant as a BN254 scalar is not an integer in [0, r) or not in canonical form. */
export const InvalidFieldElementError = defineError('InvalidFieldElementError', 'invalid-field-element')
export type InvalidFieldElementError = InstanceType<typeof InvalidFieldElementError>

export function isFieldElement (value: unknown): value is bigint {
  return typeof value === 'bigint' && value >= 0n && value < BN254_SCALAR_FIELD_ORDER
}

/** Throws InvalidFieldElementError unless `value` is a bigint in [0, r); `what` names it. */
export function assertFieldElement (value: unknown, what: string): asserts value is bigint {
  if (!isFieldElement(value)) {
    const shown = typeof value === 'bigint' ? (value < 0n ? 'a negative value' : 'a value >= r') : `a ${typeof value}`
    throw new InvalidFieldElementError(`${what} must be a BN254 scalar (bigint in [0, r)), got ${shown}`)
  }
}

// Canonical decimal: no sign, no leading zeros, no whitespace; r has 77 digits.
const DECIMAL = /^(0|[1-9][0-9]{0,76})$/

/** The wire form of a field element: canonical base-10 digits, as snarkjs and circom write them. */
export function fieldElementToDecimal (value: bigint): string {
  assertFieldElement(value, 'field element')
  return value.toString(10)
}

/**
 * Parses the wire form strictly: one value has exactly one accepted spelling, so two
 * nodes never disagree about whether two strings name the same commitment.
 */
export function fieldElementFromDecimal (text: unknown, what = 'field element'): bigint {
  if (typeof text !== 'string' || !DECIMAL.test(text)) {
    throw new InvalidFieldElementError(`${what} must be canonical decimal digits`)
  }
  const value = BigInt(text)
  assertFieldElement(value, what)
  return value
}
