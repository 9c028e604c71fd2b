import { before } from 'node:test'
import { SnarkjsVerifier } from '../src/adapters/proof/snarkjs-verifier.ts'
import { verifierSuite } from './conformance/verifier.suite.ts'
import { makeProofFixtures, type ProofFixtures } from './helpers/proof-fixtures.ts'
import { SnarkjsReferenceVerifier } from './helpers/snarkjs-reference-verifier.ts'

let fixtures: ProofFixtures
before(async () => { fixtures = await makeProofFixtures() })

verifierSuite('SnarkjsVerifier', {
  create: async (verificationKey) => SnarkjsVerifier.create({ verificationKey }),
  fixtures: () => fixtures
})

// snarkjs' own groth16.verify behind the port: the reference the fast adapter must agree with.
verifierSuite('snarkjs groth16.verify (reference)', {
  create: async (verificationKey) => SnarkjsReferenceVerifier.create(verificationKey),
  fixtures: () => fixtures
})
