import type { Groth16Proof } from '../domain/proofs/groth16-proof.ts'
import type { AbortOptions } from './abort-options.ts'

/** What a storage node checks: `proof` shows knowledge of s with Poseidon(s) = `commitment`, for `context`. */
export interface VerifyInput {
  /** Usually decoded from the 256-byte wire form with domain/proofs/groth16-proof.ts. */
  proof: Groth16Proof
  /** The commitment stored beside the chunks the requester wants. */
  commitment: bigint
  /**
   * The context the storage node computes itself from its own challenge, its own peer
   * id, the connection's authenticated remote peer id, the requested action and the
   * expiry (domain/proofs/proof-context.ts). Never taken from the requester's message.
   */
  context: bigint
}

/** Who asks for a verification, so that one requester cannot take every turn. */
export interface VerifyOptions extends AbortOptions {
  requester?: {
    /** The requester's peer id, as the connection authenticated it. */
    peer: string
    /** The requester's network (IPv4 /24, IPv6 /48), when known: one subnet shares one share of turns. */
    subnet?: string
    /**
     * The requester has standing with this node (trusted, reciprocal, or its last proof
     * verified): its verifications go ahead of those of requesters without.
     */
    priority?: boolean
  }
}

/**
 * Verifier: the storage node's check of an ownership proof (Groth16 over BN254 with
 * the committed verification key). It is the gate in front of every read and delete,
 * and its input comes from the network, so it must be total.
 *
 * Contract, tested for every adapter by test/conformance/verifier.suite.ts:
 * - Resolves `true` only if the proof verifies for exactly this (`commitment`,
 *   `context`) under this verifier's key.
 * - Resolves `false` for every well-formed proof that does not verify: wrong
 *   commitment or context, a tampered coordinate, a proof made with another key,
 *   points that are not on the curve, B outside G2's prime-order subgroup, or the
 *   point at infinity in A, B or C.
 * - Rejects with MalformedProofError when `proof` is not a Groth16Proof with every
 *   coordinate in [0, q), and with InvalidFieldElementError when `commitment` or
 *   `context` is not a bigint in [0, r). No untyped exception escapes from the curve
 *   library; should the verifier itself fail, it rejects with ProofVerificationError
 *   (a defect, never a verdict about the input: callers treat it as "not verified").
 * - Never hangs: verification is bounded CPU work (milliseconds) with no I/O.
 * - It does not track replay: single use of the challenge behind `context` is the
 *   caller's job. It does not check expiry either (the context only binds it).
 * - The AbortSignal is checked before any work; AbortError if it has fired.
 * - An adapter that queues work (verification off the event loop) may refuse a call
 *   with BusyError when the requester, its subnet or the node has as many
 *   verifications waiting as it allows; the caller answers BUSY. It serves waiting
 *   requesters in turn, so a requester flooding proofs delays only itself, and
 *   requesters with `priority` before the others.
 * - Calls after `close` reject with ClosedError. `close` releases the curve (and any
 *   worker threads, without which the process could not exit); it is idempotent.
 */
export interface Verifier {
  verify (input: VerifyInput, options?: VerifyOptions): Promise<boolean>
  close (): Promise<void>
}
