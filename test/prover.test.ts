import { after, before } from 'node:test'
import { loadProofArtefacts } from '../src/adapters/proof/artefacts.ts'
import { SnarkjsProver } from '../src/adapters/proof/snarkjs-prover.ts'
import { SnarkjsVerifier } from '../src/adapters/proof/snarkjs-verifier.ts'
import { proverSuite } from './conformance/prover.suite.ts'

let verifier: SnarkjsVerifier
let artefacts: Awaited<ReturnType<typeof loadProofArtefacts>>
before(async () => {
  artefacts = await loadProofArtefacts()
  verifier = await SnarkjsVerifier.create({ verificationKey: artefacts.verificationKey })
})
after(async () => verifier.close())

proverSuite('SnarkjsProver', {
  create: async () => SnarkjsProver.create({ artefacts }),
  verifier: () => verifier
})
