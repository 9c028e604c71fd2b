import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as snarkjs from 'snarkjs'
import { loadProofArtefacts, type ProofArtefacts } from '../../src/adapters/proof/artefacts.ts'
import { acquireSharedBn128 } from '../../src/adapters/proof/shared-bn128.ts'
import { SnarkjsProver } from '../../src/adapters/proof/snarkjs-prover.ts'
import { parseVerificationKey, type VerificationKey } from '../../src/adapters/proof/verification-key.ts'
import type { Groth16Proof } from '../../src/domain/proofs/groth16-proof.ts'
import { poseidonCommitment } from '../../src/domain/proofs/poseidon-commitment.ts'
import { deriveProofContext } from '../../src/domain/proofs/proof-context.ts'

/** Proofs made once per test file and shared by the suites in it. */
export interface ProofFixtures {
  artefacts: ProofArtefacts
  secret: bigint
  commitment: bigint
  context: bigint
  /** A proof of `secret` for (`commitment`, `context`) under the committed key. */
  proof: Groth16Proof
  /** A second valid proof for other inputs, for mixing and matching elements. */
  other: { proof: Groth16Proof, commitment: bigint, context: bigint }
  /** A throwaway key made from the same r1cs and ptau with a fresh phase-2 contribution. */
  foreign: { verificationKey: VerificationKey, proof: Groth16Proof }
}

export const sampleContext = (challengeFill: number) => deriveProofContext({
  challenge: new Uint8Array(32).fill(challengeFill),
  storageNode: Uint8Array.from(Buffer.from('002408011220' + '11'.repeat(32), 'hex')),
  requester: Uint8Array.from(Buffer.from('002408011220' + '22'.repeat(32), 'hex')),
  action: 'read',
  expiresAt: 1767225600000
})

/** Runs a second phase 2 in a temp dir: a different, equally valid key for the same circuit. */
export async function throwawayKey (artefacts: ProofArtefacts): Promise<{ verificationKey: VerificationKey, zkeyPath: string, cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'quloud-key-'))
  const shared = await acquireSharedBn128()
  try {
    const zkey0 = join(dir, 'k0.zkey')
    const zkeyPath = join(dir, 'k1.zkey')
    await snarkjs.zKey.newZKey(artefacts.r1csPath, artefacts.ptauPath, zkey0)
    await snarkjs.zKey.contribute(zkey0, zkeyPath, 'throwaway', randomBytes(32).toString('hex'))
    const verificationKey = parseVerificationKey(await snarkjs.zKey.exportVerificationKey(zkeyPath))
    return { verificationKey, zkeyPath, cleanup: async () => rm(dir, { recursive: true, force: true }) }
  } catch (err) {
    await rm(dir, { recursive: true, force: true })
    throw err
  } finally {
    await shared.release()
  }
}

export async function makeProofFixtures (): Promise<ProofFixtures> {
  const artefacts = await loadProofArtefacts()
  const prover = await SnarkjsProver.create({ artefacts })
  const key = await throwawayKey(artefacts)
  const foreignProver = await SnarkjsProver.create({ artefacts: { ...artefacts, zkeyPath: key.zkeyPath } })
  try {
    const secret = 0x1234_5678_9abc_def0_1234_5678_9abc_def0n
    const commitment = poseidonCommitment(secret)
    const context = sampleContext(1)
    const otherSecret = secret + 1n
    const otherCommitment = poseidonCommitment(otherSecret)
    const otherContext = sampleContext(2)
    return {
      artefacts,
      secret,
      commitment,
      context,
      proof: await prover.prove({ secret, commitment, context }),
      other: { proof: await prover.prove({ secret: otherSecret, commitment: otherCommitment, context: otherContext }), commitment: otherCommitment, context: otherContext },
      foreign: { verificationKey: key.verificationKey, proof: await foreignProver.prove({ secret, commitment, context }) }
    }
  } finally {
    await foreignProver.close()
    await prover.close()
    await key.cleanup()
  }
}
