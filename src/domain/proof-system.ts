/**
 * The proof-system id every node announces and requires from its peers: nodes with a
 * different id do not federate (their announcements are rejected).
 *
 * PLACEHOLDER. This is the one place it is defined. The real value is the hash of the
 * Groth16 verification key produced by the ceremony (another work item); when that
 * lands, the composition root passes that hash instead (`StartNodeOptions.proofSystemId`
 * or by replacing this constant). Everything below the composition root receives the id
 * as a constructor value and never reads this constant.
 */
export const PLACEHOLDER_PROOF_SYSTEM_ID = 'quloud-groth16-vk-placeholder'

const ID = /^[\x21-\x7e]{1,128}$/

/** A proof-system id is 1–128 printable ASCII characters without `"` or `\`. */
export function isProofSystemId (value: unknown): value is string {
  return typeof value === 'string' && ID.test(value) && !/["\\]/.test(value)
}
