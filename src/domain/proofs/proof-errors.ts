import { defineError } from '../../errors.ts'

// Failures of the proof machinery behind the Prover and Verifier ports
// (src/ports/prover.ts, src/ports/verifier.ts). A proof that simply does not verify
// is not an error: `verify` answers false.

/** The secret given to `prove` does not hash to the commitment given with it. */
export const CommitmentMismatchError = defineError('CommitmentMismatchError', 'commitment-mismatch')
export type CommitmentMismatchError = InstanceType<typeof CommitmentMismatchError>

/** The proving machinery failed (witness generation, proving key); the cause is kept. */
export const ProofGenerationError = defineError('ProofGenerationError', 'proof-generation')
export type ProofGenerationError = InstanceType<typeof ProofGenerationError>

/**
 * The verifier itself failed (a bug or a broken curve library, never a property of
 * the input); the cause is kept. The proof counts as not verified.
 */
export const ProofVerificationError = defineError('ProofVerificationError', 'proof-verification')
export type ProofVerificationError = InstanceType<typeof ProofVerificationError>
