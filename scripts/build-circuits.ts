// The ownership proof's circuit and phase 1: compiles circuits/ownership.circom and runs
// a powers-of-tau (phase 1) with contributions from fresh OS randomness, verifies it,
// and writes the r1cs, the witness generator and the prepared ptau into circuits/.
// Phase 2, the circuit's own keys, is the ceremony that follows (scripts/ceremony.ts):
// a new r1cs or ptau invalidates the old chain and keys, so this removes them.
// See circuits/README.md. Run: npm run circuits:build [-- --dir DIR]
import { randomBytes } from 'node:crypto'
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import * as snarkjs from 'snarkjs'
import { ARTEFACT_FILES, CHECKSUMS_FILE, DEFAULT_CIRCUITS_DIR } from '../src/adapters/proof/artefacts.ts'
import { acquireSharedBn128 } from '../src/adapters/proof/shared-bn128.ts'
import { CEREMONY_DIR } from './circuits/ceremony-transcript.ts'
import { CIRCUIT_SOURCE, compileOwnershipCircuit } from './circuits/compile-circuit.ts'
import { consoleLogger as logger } from './circuits/snarkjs-log.ts'

// 2^8 = 256 >= 214 constraints + 2 public inputs + 1, the size snarkjs' zkey new needs.
const POWER = 8
const PHASE1_CONTRIBUTIONS = 2

/** Entropy for one contribution. snarkjs hashes it together with 64 bytes of its own randomness. */
function entropy (): string {
  return randomBytes(64).toString('hex')
}

const out = parseArgs({ options: { dir: { type: 'string' } } }).values.dir ?? DEFAULT_CIRCUITS_DIR
const work = await mkdtemp(join(tmpdir(), 'quloud-circuits-'))
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
  if (await snarkjs.powersOfTau.verify(finalPtau, logger) !== true) throw new Error('phase 1 failed: powers of tau verify')

  console.log(`3. write ${out}, remove the phase-2 chain and keys made from the old files`)
  const place = async (from: string, to: string) => {
    await mkdir(dirname(join(out, to)), { recursive: true })
    await copyFile(from, join(out, to))
  }
  await place(join(work, 'ownership.r1cs'), ARTEFACT_FILES.r1cs)
  await place(join(work, 'ownership.wasm'), ARTEFACT_FILES.wasm)
  await place(join(work, 'witness_calculator.js'), ARTEFACT_FILES.witnessCalculator)
  await writeFile(join(out, ARTEFACT_FILES.witnessCalculatorPackage), '{ "type": "commonjs" }\n')
  await place(finalPtau, ARTEFACT_FILES.ptau)
  // SHA256SUMS covers the source too; another --dir needs its copy
  if (resolve(out, ARTEFACT_FILES.circuit) !== CIRCUIT_SOURCE) await place(CIRCUIT_SOURCE, ARTEFACT_FILES.circuit)
  for (const stale of [CEREMONY_DIR, ARTEFACT_FILES.zkey, ARTEFACT_FILES.verificationKey, CHECKSUMS_FILE]) {
    await rm(join(out, stale), { recursive: true, force: true })
  }
  console.log('done. Next, phase 2: npm run ceremony -- start, then contribute (once per participant), then beacon, then verify')
} finally {
  await rm(work, { recursive: true, force: true })
  // snarkjs keeps the curve's worker threads alive: the process would not exit otherwise.
  await shared.release()
}
