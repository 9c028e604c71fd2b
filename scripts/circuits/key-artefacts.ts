// What the final proving key determines: the verification key (whose hash is the
// proof-system id), SHA256SUMS over every artefact, and the interoperability vector.
// Written by the ceremony's beacon step and checked by its verify step, so both derive
// them in the same way.
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as snarkjs from 'snarkjs'
import { ARTEFACT_FILES, CHECKSUMS_FILE, loadProofArtefacts, sha256Hex } from '../../src/adapters/proof/artefacts.ts'
import { SnarkjsProver } from '../../src/adapters/proof/snarkjs-prover.ts'
import { encodeGroth16Proof } from '../../src/domain/proofs/groth16-proof.ts'
import { poseidonCommitment } from '../../src/domain/proofs/poseidon-commitment.ts'
import { deriveProofContext } from '../../src/domain/proofs/proof-context.ts'
import type { SnarkjsLogger } from './snarkjs-log.ts'

export const DEFAULT_VECTOR_FILE = fileURLToPath(new URL('../../test/vectors/ownership-proof.json', import.meta.url))

/** verification_key.json's exact bytes as exported from a zkey; the proof-system id hashes them. */
export async function verificationKeyText (zkeyPath: string, logger?: SnarkjsLogger): Promise<string> {
  const vk = await snarkjs.zKey.exportVerificationKey(zkeyPath, logger)
  return JSON.stringify(vk, null, 1) + '\n'
}

/** SHA256SUMS as `sha256sum` writes it, over every artefact in the directory as it is now. */
export async function checksumsText (dir: string): Promise<string> {
  let sums = ''
  for (const file of Object.values(ARTEFACT_FILES).sort()) {
    sums += `${sha256Hex(await readFile(join(dir, file)))}  ${file}\n`
  }
  return sums
}

/** Exports the verification key of dir's ownership_final.zkey and rewrites SHA256SUMS. */
export async function writeKeyArtefacts (dir: string, logger?: SnarkjsLogger): Promise<void> {
  await writeFile(join(dir, ARTEFACT_FILES.verificationKey), await verificationKeyText(join(dir, ARTEFACT_FILES.zkey), logger))
  await writeFile(join(dir, CHECKSUMS_FILE), await checksumsText(dir))
}

/** Writes a valid proof under dir's key, for independent implementations; returns the proof-system id. */
export async function writeProofVector (dir: string, vectorFile: string): Promise<string> {
  const artefacts = await loadProofArtefacts({ dir })
  const prover = await SnarkjsProver.create({ artefacts })
  try {
    const commitment = poseidonCommitment(1n)
    const context = deriveProofContext({
      challenge: Uint8Array.from({ length: 32 }, (_, i) => i),
      storageNode: Uint8Array.from(Buffer.from('002408011220' + '11'.repeat(32), 'hex')),
      requester: Uint8Array.from(Buffer.from('002408011220' + '22'.repeat(32), 'hex')),
      action: 'read',
      expiresAt: 1767225600000
    })
    const proof = await prover.prove({ secret: 1n, commitment, context })
    const str = (v: bigint) => v.toString()
    await writeFile(vectorFile, JSON.stringify({
      description: 'A valid ownership proof under the committed key (circuits/verification_key.json), written by the ceremony\'s beacon step (npm run ceremony -- beacon). commitment = Poseidon([1]); context = proof-context vector 0. proof is the 256-byte wire form, hex.',
      proofSystemId: artefacts.proofSystemId,
      commitment: str(commitment),
      context: str(context),
      proof: Buffer.from(encodeGroth16Proof(proof)).toString('hex'),
      snarkjs: { pi_a: [...proof.a.map(str), '1'], pi_b: [proof.b[0].map(str), proof.b[1].map(str), ['1', '0']], pi_c: [...proof.c.map(str), '1'] }
    }, null, 2) + '\n')
    return artefacts.proofSystemId
  } finally {
    await prover.close()
  }
}
