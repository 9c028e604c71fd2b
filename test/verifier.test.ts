import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { before, describe, it } from 'node:test'
import { groth16ProofFromSnarkjs } from '../src/adapters/proof/snarkjs-format.ts'
import { SnarkjsVerifier } from '../src/adapters/proof/snarkjs-verifier.ts'
import { WorkerPoolVerifier } from '../src/adapters/proof/worker-pool-verifier.ts'
import { decodeGroth16Proof } from '../src/domain/proofs/groth16-proof.ts'
import { verifierSuite } from './conformance/verifier.suite.ts'
import { makeProofFixtures, type ProofFixtures } from './helpers/proof-fixtures.ts'
import { SnarkjsReferenceVerifier } from './helpers/snarkjs-reference-verifier.ts'

let fixtures: ProofFixtures
before(async () => { fixtures = await makeProofFixtures() })

verifierSuite('SnarkjsVerifier', {
  create: async (verificationKey) => SnarkjsVerifier.create({ verificationKey }),
  fixtures: () => fixtures
})

verifierSuite('WorkerPoolVerifier (two worker threads)', {
  create: async (verificationKey) => WorkerPoolVerifier.create({ verificationKey, workers: 2 }),
  fixtures: () => fixtures
})

// snarkjs' own groth16.verify behind the port: the reference the fast adapter must agree with.
verifierSuite('snarkjs groth16.verify (reference)', {
  create: async (verificationKey) => SnarkjsReferenceVerifier.create(verificationKey),
  fixtures: () => fixtures
})

describe('interoperability vector (test/vectors/ownership-proof.json)', () => {
  it('decodes to the snarkjs proof and verifies under the committed key, and under snarkjs', async () => {
    const v = JSON.parse(await readFile(new URL('./vectors/ownership-proof.json', import.meta.url), 'utf8')) as {
      proofSystemId: string, commitment: string, context: string, proof: string, snarkjs: unknown
    }
    const proof = decodeGroth16Proof(Uint8Array.from(Buffer.from(v.proof, 'hex')))
    assert.deepEqual(proof, groth16ProofFromSnarkjs(v.snarkjs))
    assert.equal(v.proofSystemId, fixtures.artefacts.proofSystemId, 'the vector belongs to the committed key')
    const input = { proof, commitment: BigInt(v.commitment), context: BigInt(v.context) }
    for (const verifier of [await SnarkjsVerifier.create({ verificationKey: fixtures.artefacts.verificationKey }), await SnarkjsReferenceVerifier.create(fixtures.artefacts.verificationKey)]) {
      try {
        assert.equal(await verifier.verify(input), true)
        assert.equal(await verifier.verify({ ...input, context: input.context + 1n }), false)
      } finally {
        await verifier.close()
      }
    }
  })
})
