import { poseidon1 } from 'poseidon-lite/poseidon1'
import { assertFieldElement, fieldElementFromDecimal, fieldElementToDecimal } from './field-element.ts'

/**
 * The commitment to a per-file retrieval secret: C = Poseidon([s]) over BN254, the
 * same function as circomlib's `Poseidon(1)` in circuits/ownership.circom (t = 2,
 * 8 full and 56 partial rounds). poseidon-lite implements exactly that; the circuit
 * tests hold it to the compiled circuit.
 *
 * Storage nodes keep C beside every chunk of the file; proving knowledge of s with
 * Poseidon(s) = C is what opens those chunks. C reveals nothing usable about s.
 */
export function poseidonCommitment (secret: bigint): bigint {
  assertFieldElement(secret, 'secret')
  return poseidon1([secret])
}

/** Wire form of a commitment: canonical decimal digits. */
export function commitmentToDecimal (commitment: bigint): string {
  return fieldElementToDecimal(commitment)
}

/** Parses a commitment from the wire; throws InvalidFieldElementError unless canonical and < r. */
export function commitmentFromDecimal (text: unknown): bigint {
  return fieldElementFromDecimal(text, 'commitment')
}
