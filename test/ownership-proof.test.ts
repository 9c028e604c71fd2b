import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { after, before, describe, it } from 'node:test'
import { loadProofArtefacts, type ProofArtefacts } from '../src/adapters/proof/artefacts.ts'
import { SnarkjsProver } from '../src/adapters/proof/snarkjs-prover.ts'
import { SnarkjsVerifier } from '../src/adapters/proof/snarkjs-verifier.ts'
import { BN254_SCALAR_FIELD_ORDER as r } from '../src/domain/proofs/field-element.ts'
import { decodeGroth16Proof, encodeGroth16Proof } from '../src/domain/proofs/groth16-proof.ts'
import { poseidonCommitment } from '../src/domain/proofs/poseidon-commitment.ts'
import { sampleContext } from './helpers/proof-fixtures.ts'

const vectors = JSON.parse(await readFile(new URL('./vectors/poseidon-commitment.json', import.meta.url), 'utf8')) as {
  vectors: Array<{ secret: string, commitment: string }>
}

describe('Poseidon: JavaScript and circuit agree', () => {
  let witnesses: { calculateWitness (input: Record<string, bigint>, sanityCheck: number): Promise<bigint[]> }

  before(async () => {
    const artefacts = await loadProofArtefacts()
    const builder = createRequire(import.meta.url)(artefacts.witnessCalculatorPath) as (wasm: Uint8Array) => Promise<typeof witnesses>
    witnesses = await builder(await readFile(artefacts.wasmPath))
  })

  for (const v of vectors.vectors) {
    it(`secret ${v.secret.slice(0, 20)}${v.secret.length > 20 ? '…' : ''}`, async () => {
      const secret = BigInt(v.secret)
      const commitment = BigInt(v.commitment)
      assert.equal(poseidonCommitment(secret), commitment, 'poseidon-lite')
      // The witness generator computes circomlib's Poseidon(secret) and asserts it equals
      // `commitment` (the circuit's ===): it accepts the vector and nothing else.
      const w = await witnesses.calculateWitness({ secret, commitment, context: 5n }, 1)
      assert.deepEqual(w.slice(0, 4), [1n, commitment, 5n, secret], 'wire layout: 1, commitment, context, secret')
      await assert.rejects(witnesses.calculateWitness({ secret, commitment: (commitment + 1n) % r, context: 5n }, 1), /Assert Failed/)
    })
  }
})

describe('SnarkjsProver', () => {
  let artefacts: ProofArtefacts
  let prover: SnarkjsProver
  let verifier: SnarkjsVerifier
  const secret = 987654321n
  const commitment = poseidonCommitment(secret)
  const context = sampleContext(9)

  before(async () => {
    artefacts = await loadProofArtefacts()
    prover = await SnarkjsProver.create({ artefacts })
    verifier = await SnarkjsVerifier.create({ verificationKey: artefacts.verificationKey })
  })
  after(async () => {
    await prover.close()
    await verifier.close()
  })

  it('makes proofs the verifier accepts for exactly their inputs, randomised per call', async () => {
    const p1 = await prover.prove({ secret, commitment, context })
    const p2 = await prover.prove({ secret, commitment, context })
    assert.notDeepEqual(p1, p2)
    for (const p of [p1, p2, decodeGroth16Proof(encodeGroth16Proof(p1))]) {
      assert.equal(await verifier.verify({ proof: p, commitment, context }), true)
      assert.equal(await verifier.verify({ proof: p, commitment, context: sampleContext(10) }), false)
    }
  })

  it('proves at the edges of the field', async () => {
    for (const [s, ctx] of [[0n, 0n], [r - 1n, r - 1n]] as const) {
      const c = poseidonCommitment(s)
      const proof = await prover.prove({ secret: s, commitment: c, context: ctx })
      assert.equal(await verifier.verify({ proof, commitment: c, context: ctx }), true)
    }
  })

  it('keeps concurrent proofs apart', async () => {
    const inputs = [1n, 2n, 3n, 4n].map((s) => ({ secret: s, commitment: poseidonCommitment(s), context: sampleContext(Number(s)) }))
    const proofs = await Promise.all(inputs.map(async (input) => prover.prove(input)))
    for (const [i, proof] of proofs.entries()) {
      assert.equal(await verifier.verify({ proof, commitment: inputs[i]!.commitment, context: inputs[i]!.context }), true, `proof ${i}`)
    }
  })

  it('refuses a secret that does not match the commitment with CommitmentMismatchError', async () => {
    await assert.rejects(prover.prove({ secret: secret + 1n, commitment, context }), { name: 'CommitmentMismatchError' })
  })

  it('rejects inputs outside the field with InvalidFieldElementError', async () => {
    await assert.rejects(prover.prove({ secret: secret + r, commitment, context }), { name: 'InvalidFieldElementError' })
    await assert.rejects(prover.prove({ secret, commitment: commitment + r, context }), { name: 'InvalidFieldElementError' })
    await assert.rejects(prover.prove({ secret, commitment, context: -1n }), { name: 'InvalidFieldElementError' })
    await assert.rejects(prover.prove({ secret: 1 as unknown as bigint, commitment, context }), { name: 'InvalidFieldElementError' })
  })

  it('honours its AbortSignal before and during proving', async () => {
    const aborted = new AbortController()
    aborted.abort()
    await assert.rejects(prover.prove({ secret, commitment, context }, { signal: aborted.signal }), { name: 'AbortError' })
    const controller = new AbortController()
    const pending = prover.prove({ secret, commitment, context }, { signal: controller.signal })
    controller.abort()
    await assert.rejects(pending, { name: 'AbortError' })
  })

  it('shares the curve: closing one prover leaves another working', async () => {
    const own = await SnarkjsProver.create({ artefacts })
    await own.close()
    const proof = await prover.prove({ secret, commitment, context })
    assert.equal(await verifier.verify({ proof, commitment, context }), true)
  })

  it('waits for proofs in flight on close, then refuses with ClosedError', async () => {
    const own = await SnarkjsProver.create({ artefacts })
    const pending = own.prove({ secret, commitment, context })
    await own.close()
    assert.equal(await verifier.verify({ proof: await pending, commitment, context }), true)
    await own.close()
    await assert.rejects(own.prove({ secret, commitment, context }), { name: 'ClosedError' })
  })
})
