import type { Groth16Proof } from '../domain/proofs/groth16-proof.ts'
import type { AbortOptions } from './abort-options.ts'

/** What the owner proves: it knows `secret` with Poseidon(secret) = `commitment`, for `context`. */
export interface ProveInput {
  /** The per-file retrieval secret s (BN254 scalar). Stays on the owner's node. */
  secret: bigint
  /** C = Poseidon(s), as stored beside the file's chunks (domain/proofs/poseidon-commitment.ts). */
  commitment: bigint
  /** The single-use context (domain/proofs/proof-context.ts) the storage node will verify against. */
  context: bigint
}

/**
 * Prover: makes the ownership proof a requester sends to a storage node before it
 * reads or deletes chunks. Runs on the owner's (or a share recipient's) node.
 *
 * Contract:
 * - `prove` resolves with a proof that every Verifier built from the same protocol
 *   artefacts accepts for exactly (`commitment`, `context`). Proofs are randomised:
 *   two calls with the same input give different proofs, both valid.
 * - `secret`, `commitment` and `context` must be bigints in [0, r); otherwise it
 *   rejects with InvalidFieldElementError before any work.
 * - If Poseidon(secret) != commitment it rejects with CommitmentMismatchError: a
 *   prover never produces a proof that cannot verify.
 * - Other failures of the proving machinery reject with ProofGenerationError
 *   (cause kept).
 * - The AbortSignal is checked before starting; if it fires while a proof is being
 *   computed, the call rejects with AbortError at once (the computation itself may
 *   finish in the background; its result is dropped).
 * - Proving costs tens to hundreds of milliseconds of CPU; one proof opens a session
 *   for every chunk under the commitment, so it is not on a per-chunk path.
 * - Calls after `close` reject with ClosedError. `close` waits for proofs in flight,
 *   then releases worker threads so the process can exit; it is idempotent.
 */
export interface Prover {
  prove (input: ProveInput, options?: AbortOptions): Promise<Groth16Proof>
  close (): Promise<void>
}
