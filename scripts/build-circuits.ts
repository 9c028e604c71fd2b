// The ownership-proof ceremony: compiles circuits/ownership.circom, runs a powers-of-tau
// (phase 1) and a Groth16 circuit-specific setup (phase 2), each with contributions
// from fresh OS randomness, verifies both, and writes the artefacts and SHA256SUMS
// into circuits/, then a fresh interoperability vector into test/vectors/. Every run
// makes a new key and so a new proof-system id.
// See circuits/README.md. Run: npm run circuits:build
import { randomBytes } from 'node:crypto'
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as snarkjs from 'snarkjs'
import { ARTEFACT_FILES, CHECKSUMS_FILE, DEFAULT_CIRCUITS_DIR, loadProofArtefacts, sha256Hex } from '../src/adapters/proof/artefacts.ts'
import { acquireSharedBn128 } from '../src/adapters/proof/shared-bn128.ts'
import { SnarkjsProver } from '../src/adapters/proof/snarkjs-prover.ts'
import { encodeGroth16Proof } from '../src/domain/proofs/groth16-proof.ts'
import { poseidonCommitment } from '../src/domain/proofs/poseidon-commitment.ts'
import { deriveProofContext } from '../src/domain/proofs/proof-context.ts'
import { compileOwnershipCircuit } from './circuits/compile-circuit.ts'

// 2^8 = 256 >= 214 constraints + 2 public inputs + 1, the size snarkjs' zkey new needs.
const POWER = 8
const PHASE1_CONTRIBUTIONS = 2

const logger = {
  debug: () => {},
  info: (...args: unknown[]) => { console.log('  ', ...args) },
  warn: (...args: unknown[]) => { console.warn('  warning:', ...args) },
  error: (...args: unknown[]) => { console.error('  error:', ...args) }
}

/** Entropy for one contribution. snarkjs hashes it together with 64 bytes of its own randomness. */
function entropy (): string {
  return randomBytes(64).toString('hex')
}

function check (ok: unknown, what: string): void {
  if (ok !== true) throw new Error(`ceremony step failed: ${what}`)
}

const out = DEFAULT_CIRCUITS_DIR
const vectorFile = fileURLToPath(new URL('../test/vectors/ownership-proof.json', import.meta.url))
const work = await mkdtemp(join(tmpdir(), 'quloud-ceremony-'))
// The process-wide curve snarkjs uses too; released (workers terminated) at the end.
const shared = await acquireSharedBn128()
const { curve } = shared
try {
  console.log('1. compile circuits/ownership.circom (circom2, --O2)')
  const compiled = await compileOwnershipCircuit()
  try {
    console.log(compiled.log.trim().split('\n').map((l) => '   ' + l).join('\n'))
    await copyFile(compiled.r1cs, join(work, 'ownership.r1cs'))
    await copyFile(compiled.wasm, join(work, 'ownership.wasm'))
    await copyFile(compiled.witnessCalculator, join(work, 'witness_calculator.js'))
  } finally {
    await compiled.cleanup()
  }
  const r1cs = join(work, 'ownership.r1cs')

  console.log(`2. phase 1: powers of tau on bn128, power ${POWER}`)
  let ptau = join(work, 'pot_0000.ptau')
  await snarkjs.powersOfTau.newAccumulator(curve, POWER, ptau, logger)
  for (let i = 1; i <= PHASE1_CONTRIBUTIONS; i++) {
    const next = join(work, `pot_${String(i).padStart(4, '0')}.ptau`)
    await snarkjs.powersOfTau.contribute(ptau, next, `quloud phase 1 contribution ${i}`, entropy(), logger)
    ptau = next
  }
  const finalPtau = join(work, 'pot_final.ptau')
  await snarkjs.powersOfTau.preparePhase2(ptau, finalPtau, logger)
  check(await snarkjs.powersOfTau.verify(finalPtau, logger), 'powers of tau verify')

  console.log('3. phase 2: Groth16 setup for the circuit')
  const zkey0 = join(work, 'ownership_0000.zkey')
  const zkeyFinal = join(work, 'ownership_final.zkey')
  const created = await snarkjs.zKey.newZKey(r1cs, finalPtau, zkey0, logger)
  if (created === -1) throw new Error('ceremony step failed: zkey new')
  await snarkjs.zKey.contribute(zkey0, zkeyFinal, 'quloud phase 2 contribution 1', entropy(), logger)
  check(await snarkjs.zKey.verifyFromR1cs(r1cs, finalPtau, zkeyFinal, logger), 'zkey verify')
  const vk = await snarkjs.zKey.exportVerificationKey(zkeyFinal, logger)

  console.log('4. write circuits/')
  const place = async (from: string, to: string) => {
    await mkdir(dirname(join(out, to)), { recursive: true })
    await copyFile(from, join(out, to))
  }
  await place(r1cs, ARTEFACT_FILES.r1cs)
  await place(join(work, 'ownership.wasm'), ARTEFACT_FILES.wasm)
  await place(join(work, 'witness_calculator.js'), ARTEFACT_FILES.witnessCalculator)
  await writeFile(join(out, ARTEFACT_FILES.witnessCalculatorPackage), '{ "type": "commonjs" }\n')
  await place(zkeyFinal, ARTEFACT_FILES.zkey)
  await place(finalPtau, ARTEFACT_FILES.ptau)
  await writeFile(join(out, ARTEFACT_FILES.verificationKey), JSON.stringify(vk, null, 1) + '\n')

  let sums = ''
  for (const file of Object.values(ARTEFACT_FILES).sort()) {
    sums += `${sha256Hex(await readFile(join(out, file)))}  ${file}\n`
  }
  await writeFile(join(out, CHECKSUMS_FILE), sums)

  console.log('5. write test/vectors/ownership-proof.json (a valid proof under the new key)')
  const artefacts = await loadProofArtefacts()
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
      description: 'A valid ownership proof under the committed key (circuits/verification_key.json), written by npm run circuits:build. commitment = Poseidon([1]); context = proof-context vector 0. proof is the 256-byte wire form, hex.',
      proofSystemId: artefacts.proofSystemId,
      commitment: str(commitment),
      context: str(context),
      proof: Buffer.from(encodeGroth16Proof(proof)).toString('hex'),
      snarkjs: { pi_a: [...proof.a.map(str), '1'], pi_b: [proof.b[0].map(str), proof.b[1].map(str), ['1', '0']], pi_c: [...proof.c.map(str), '1'] }
    }, null, 2) + '\n')
  } finally {
    await prover.close()
  }
  console.log(`done. proof-system id ${artefacts.proofSystemId}`)
} finally {
  await rm(work, { recursive: true, force: true })
  // snarkjs keeps the curve's worker threads alive; the process would not exit otherwise.
  await shared.release()
}
