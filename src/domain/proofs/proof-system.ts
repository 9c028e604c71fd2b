/**
 * A proof-system id: the SHA-256 hex of the committed Groth16 verification key
 * (adapters/proof/artefacts.ts computes it). Every node announces its id and requires
 * its peers' to match: nodes with a different id cannot check each other's proofs and
 * do not federate (their announcements are rejected).
 */
const ID = /^[\x21-\x7e]{1,128}$/

/** A proof-system id is 1–128 printable ASCII characters without `"` or `\`. */
export function isProofSystemId (value: unknown): value is string {
  return typeof value === 'string' && ID.test(value) && !/["\\]/.test(value)
}
