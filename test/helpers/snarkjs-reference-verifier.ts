import * as snarkjs from 'snarkjs'
import { ClosedError, throwIfAborted } from '../../src/errors.ts'
import { acquireSharedBn128, type SharedBn128 } from '../../src/adapters/proof/shared-bn128.ts'
import { groth16ProofToSnarkjs } from '../../src/adapters/proof/snarkjs-format.ts'
import type { VerificationKey } from '../../src/adapters/proof/verification-key.ts'
import { assertFieldElement } from '../../src/domain/proofs/field-element.ts'
import { assertWellFormedProof } from '../../src/domain/proofs/groth16-proof.ts'
import type { AbortOptions } from '../../src/ports/abort-options.ts'
import { ProofVerificationError } from '../../src/domain/proofs/proof-errors.ts'
import type { Verifier, VerifyInput } from '../../src/ports/verifier.ts'

/**
 * snarkjs' own `groth16.verify` behind the Verifier port: the reference the fast
 * adapter is held to by the same conformance suite. Slow (it rebuilds everything per
 * call) and without a G2 subgroup check, so for tests only.
 */
export class SnarkjsReferenceVerifier implements Verifier {
  private readonly vk: VerificationKey
  private readonly shared: SharedBn128
  private closed = false

  private constructor (vk: VerificationKey, shared: SharedBn128) {
    this.vk = vk
    this.shared = shared
  }

  static async create (vk: VerificationKey): Promise<SnarkjsReferenceVerifier> {
    return new SnarkjsReferenceVerifier(vk, await acquireSharedBn128())
  }

  async verify ({ proof, commitment, context }: VerifyInput, options: AbortOptions = {}): Promise<boolean> {
    if (this.closed) throw new ClosedError('the verifier is closed')
    throwIfAborted(options.signal)
    assertWellFormedProof(proof)
    assertFieldElement(commitment, 'commitment')
    assertFieldElement(context, 'context')
    try {
      return await snarkjs.groth16.verify(this.vk, [commitment.toString(), context.toString()], groth16ProofToSnarkjs(proof))
    } catch (err) {
      throw new ProofVerificationError('snarkjs groth16.verify failed', { cause: err })
    }
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.shared.release()
  }
}
