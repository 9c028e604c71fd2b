import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, it } from 'node:test'
import { InvalidFieldElementError, BN254_SCALAR_FIELD_ORDER } from '../../src/domain/proofs/field-element.ts'
import { encodeGroth16Proof } from '../../src/domain/proofs/groth16-proof.ts'
import { poseidonCommitment } from '../../src/domain/proofs/poseidon-commitment.ts'
import { AbortError, ClosedError } from '../../src/errors.ts'
import { CommitmentMismatchError } from '../../src/domain/proofs/proof-errors.ts'
import type { Prover } from '../../src/ports/prover.ts'
import type { Verifier } from '../../src/ports/verifier.ts'
import { sampleContext } from '../helpers/proof-fixtures.ts'
import { rejectsWith } from '../helpers/rejects-with.ts'

export interface ProverHarness {
  create (): Promise<Prover>
  /** A verifier built from the same protocol artefacts, shared by the tests. */
  verifier (): Verifier
}

let nextSecret = 0x5eed_0000_0000_0000_0000_0000_0000n
function newInput (challengeFill = 1) {
  const secret = nextSecret++
  return { secret, commitment: poseidonCommitment(secret), context: sampleContext(challengeFill) }
}

/** The Prover contract (src/ports/prover.ts) as tests; a fresh prover per test. */
export function proverSuite (name: string, harness: ProverHarness): void {
  describe(`Prover conformance: ${name}`, () => {
    let prover: Prover

    beforeEach(async () => { prover = await harness.create() })
    afterEach(async () => prover.close())

    it('makes a proof the verifier accepts for exactly its commitment and context', async () => {
      const input = newInput()
      const proof = await prover.prove(input)
      const verifier = harness.verifier()
      assert.equal(await verifier.verify({ proof, commitment: input.commitment, context: input.context }), true)
      assert.equal(await verifier.verify({ proof, commitment: input.commitment, context: sampleContext(2) }), false, 'another context')
      assert.equal(await verifier.verify({ proof, commitment: poseidonCommitment(input.secret + 1n), context: input.context }), false, 'another commitment')
    })

    it('proofs are randomised: two of the same input differ and both verify', async () => {
      const input = newInput()
      const [a, b] = await Promise.all([prover.prove(input), prover.prove(input)])
      assert.notDeepEqual(encodeGroth16Proof(a), encodeGroth16Proof(b))
      for (const proof of [a, b]) assert.equal(await harness.verifier().verify({ proof, commitment: input.commitment, context: input.context }), true)
    })

    it('concurrent proofs of different inputs each verify for their own input', async () => {
      const inputs = [newInput(3), newInput(4), newInput(5)]
      const proofs = await Promise.all(inputs.map(async (input) => prover.prove(input)))
      for (const [i, proof] of proofs.entries()) {
        assert.equal(await harness.verifier().verify({ proof, commitment: inputs[i]!.commitment, context: inputs[i]!.context }), true, `input ${i}`)
      }
    })

    it('a secret that does not hash to the commitment is CommitmentMismatchError: no proof that cannot verify', async () => {
      const input = newInput()
      await rejectsWith(prover.prove({ ...input, secret: input.secret + 1n }), CommitmentMismatchError)
      await rejectsWith(prover.prove({ ...input, commitment: input.commitment + 1n }), CommitmentMismatchError)
    })

    it('values outside the field are InvalidFieldElementError before any work', async () => {
      const input = newInput()
      for (const bad of [-1n, BN254_SCALAR_FIELD_ORDER, BN254_SCALAR_FIELD_ORDER + input.secret]) {
        await rejectsWith(prover.prove({ ...input, secret: bad }), InvalidFieldElementError)
        await rejectsWith(prover.prove({ ...input, context: bad }), InvalidFieldElementError)
        await rejectsWith(prover.prove({ ...input, commitment: bad }), InvalidFieldElementError)
      }
      await rejectsWith(prover.prove({ ...input, secret: 5 as unknown as bigint }), InvalidFieldElementError)
    })

    it('an aborted signal is AbortError before starting', async () => {
      await rejectsWith(prover.prove(newInput(), { signal: AbortSignal.abort() }), AbortError)
    })

    it('an abort during a proof rejects with AbortError instead of the proof', async () => {
      // without the abort this resolves with a proof (the tests above); timing is left
      // out on purpose: a loaded machine stretches it, the outcome is what is promised
      const controller = new AbortController()
      const proving = prover.prove(newInput(), { signal: controller.signal })
      setTimeout(() => controller.abort(new Error('gave up')), 5)
      await rejectsWith(proving, AbortError)
    })

    it('close waits for proofs in flight; afterwards prove is ClosedError; close is idempotent', async () => {
      const input = newInput()
      const inFlight = prover.prove(input)
      await prover.close()
      const proof = await inFlight
      assert.equal(await harness.verifier().verify({ proof, commitment: input.commitment, context: input.context }), true)
      await rejectsWith(prover.prove(newInput()), ClosedError)
      await prover.close()
    })
  })
}
