import assert from 'node:assert/strict'
import { cp, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import * as snarkjs from 'snarkjs'
import {
  ARTEFACT_FILES, CHECKSUMS_FILE, DEFAULT_CIRCUITS_DIR, loadProofArtefacts, parseChecksums, sha256Hex
} from '../src/adapters/proof/artefacts.ts'
import { acquireSharedBn128 } from '../src/adapters/proof/shared-bn128.ts'
import { compileOwnershipCircuit } from '../scripts/circuits/compile-circuit.ts'
import { tempDir } from './helpers/temp-dir.ts'

const committed = (file: string) => readFile(join(DEFAULT_CIRCUITS_DIR, file))

describe('committed circuit artefacts', () => {
  it('match SHA256SUMS, which lists exactly the artefacts', async () => {
    const sums = parseChecksums(await committed(CHECKSUMS_FILE))
    assert.deepEqual([...sums.keys()].sort(), Object.values(ARTEFACT_FILES).sort())
    for (const [file, hash] of sums) assert.equal(sha256Hex(await committed(file)), hash, file)
  })

  it('load, with the proof-system id = SHA-256 of verification_key.json', async () => {
    const artefacts = await loadProofArtefacts()
    assert.equal(artefacts.proofSystemId, sha256Hex(await committed(ARTEFACT_FILES.verificationKey)))
    assert.match(artefacts.proofSystemId, /^[0-9a-f]{64}$/)
    assert.equal(artefacts.verificationKey.nPublic, 2)
    const spec = await readFile(new URL('../protocol-spec/ownership-proof.md', import.meta.url), 'utf8')
    assert.ok(spec.includes(`Current id: \`${artefacts.proofSystemId}\``), 'protocol-spec/ownership-proof.md names the current proof-system id')
  })

  it('refuse to load when a file is altered, missing or unlisted', async () => {
    const dir = await tempDir()
    try {
      const copy = async () => {
        await rm(dir.path, { recursive: true, force: true })
        await cp(DEFAULT_CIRCUITS_DIR, dir.path, { recursive: true })
      }
      await copy()
      await loadProofArtefacts({ dir: dir.path })

      const zkey = join(dir.path, ARTEFACT_FILES.zkey)
      const bytes = await readFile(zkey)
      bytes[bytes.length - 1]! ^= 1
      await writeFile(zkey, bytes)
      await assert.rejects(loadProofArtefacts({ dir: dir.path }), { name: 'ArtefactChecksumError' })

      await copy()
      await rm(join(dir.path, ARTEFACT_FILES.wasm))
      await assert.rejects(loadProofArtefacts({ dir: dir.path }), { name: 'ArtefactChecksumError' })

      await copy()
      const sums = (await readFile(join(dir.path, CHECKSUMS_FILE), 'utf8')).split('\n').filter((l) => !l.endsWith(ARTEFACT_FILES.ptau)).join('\n')
      await writeFile(join(dir.path, CHECKSUMS_FILE), sums)
      await assert.rejects(loadProofArtefacts({ dir: dir.path }), { name: 'ArtefactChecksumError' })

      await assert.rejects(loadProofArtefacts({ dir: join(dir.path, 'nowhere') }), { name: 'ArtefactChecksumError' })
    } finally {
      await dir.cleanup()
    }
  })

  it('are what circom2 makes of the committed circuit today', async () => {
    const compiled = await compileOwnershipCircuit()
    try {
      assert.ok((await committed(ARTEFACT_FILES.r1cs)).equals(await readFile(compiled.r1cs)), 'r1cs')
      assert.ok((await committed(ARTEFACT_FILES.wasm)).equals(await readFile(compiled.wasm)), 'wasm')
      assert.ok((await committed(ARTEFACT_FILES.witnessCalculator)).equals(await readFile(compiled.witnessCalculator)), 'witness_calculator.js')
    } finally {
      await compiled.cleanup()
    }
  })

  it('hold a proving key that snarkjs zkey verify accepts against r1cs and ptau', async () => {
    const artefacts = await loadProofArtefacts()
    const shared = await acquireSharedBn128()
    try {
      assert.equal(await snarkjs.zKey.verifyFromR1cs(artefacts.r1csPath, artefacts.ptauPath, artefacts.zkeyPath), true)
    } finally {
      await shared.release()
    }
  })
})
