import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { cp, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { ARTEFACT_FILES, CHECKSUMS_FILE, DEFAULT_CIRCUITS_DIR, loadProofArtefacts, sha256Hex } from '../src/adapters/proof/artefacts.ts'
import { acquireSharedBn128 } from '../src/adapters/proof/shared-bn128.ts'
import { CeremonyChainError, CeremonyStateError, CeremonyUsageError } from '../scripts/circuits/ceremony-errors.ts'
import { applyBeacon, checkBeaconParameters, contribute, startChain } from '../scripts/circuits/ceremony-steps.ts'
import { checkContributorName, readTranscript, TRANSCRIPT_FILE, type Transcript } from '../scripts/circuits/ceremony-transcript.ts'
import { verifyChain } from '../scripts/circuits/ceremony-verify.ts'
import { phase2 } from '../scripts/circuits/snarkjs-phase2.ts'
import { tempDir } from './helpers/temp-dir.ts'

const run = promisify(execFile)
const CLI = fileURLToPath(new URL('../scripts/ceremony.ts', import.meta.url))

/** A scratch copy of the committed circuits directory; `cleanup` removes it. */
async function copyOfCircuits (): Promise<{ path: string, cleanup: () => Promise<void> }> {
  const dir = await tempDir('quloud-ceremony-test-')
  await cp(DEFAULT_CIRCUITS_DIR, dir.path, { recursive: true })
  return dir
}

async function editTranscript (dir: string, edit: (t: Transcript) => void): Promise<void> {
  const path = join(dir, TRANSCRIPT_FILE)
  const t = JSON.parse(await readFile(path, 'utf8')) as Transcript
  edit(t)
  await writeFile(path, JSON.stringify(t, null, 2) + '\n')
}

async function rejectsChain (dir: string, message: RegExp): Promise<void> {
  await assert.rejects(verifyChain({ dir }), (err: unknown) => {
    assert.ok(err instanceof CeremonyChainError, `a CeremonyChainError, not ${String(err)}`)
    assert.match(err.message, message)
    return true
  })
}

/** A 128-hex hash with its first digit changed. */
const otherHash = (hex: string) => (hex[0] === '0' ? '1' : '0') + hex.slice(1)

describe('phase-2 ceremony chain (scripts/ceremony.ts)', () => {
  // held across the tests so that each verify reuses one curve instead of starting its workers again
  let shared: Awaited<ReturnType<typeof acquireSharedBn128>>
  before(async () => { shared = await acquireSharedBn128() })
  after(async () => { await shared.release() })

  it('the committed chain verifies from r1cs and phase 1 through the beacon to the committed keys', async () => {
    const report = await verifyChain({ dir: DEFAULT_CIRCUITS_DIR })
    assert.equal(report.final, true)
    const kinds = report.transcript.entries.map((e) => e.kind)
    assert.equal(kinds[0], 'new')
    assert.equal(kinds.at(-1), 'beacon')
    assert.ok(kinds.filter((k) => k === 'contribution').length >= 2, 'at least two contributions')
    assert.equal(report.proofSystemId, (await loadProofArtefacts()).proofSystemId)
    const readme = await readFile(join(DEFAULT_CIRCUITS_DIR, 'README.md'), 'utf8')
    for (const e of report.transcript.entries.slice(1)) {
      assert.ok(readme.includes(e.name!), `circuits/README.md names contributor ${e.name}`)
      assert.ok(readme.includes(e.contributionHash!.slice(0, 16)), `circuits/README.md shows ${e.name}'s contribution hash`)
    }
  })

  it('fails on one changed byte of a middle zkey, also when the transcript is rewritten to its new SHA-256', async () => {
    const dir = await copyOfCircuits()
    try {
      const middle = (await readTranscript(dir.path)).entries[1]!
      const bytes = await readFile(join(dir.path, middle.file))
      bytes[Math.floor(bytes.length / 2)]! ^= 1
      await writeFile(join(dir.path, middle.file), bytes)
      await rejectsChain(dir.path, /entry 1 .*SHA-256/)
      await editTranscript(dir.path, (t) => { t.entries[1]!.sha256 = sha256Hex(bytes) })
      await rejectsChain(dir.path, /entry 1 .*zkey verify fails/)
    } finally {
      await dir.cleanup()
    }
  })

  it('fails when the transcript\'s contribution hash, name or beacon differs from the zkeys', async () => {
    const dir = await copyOfCircuits()
    try {
      const original = await readFile(join(dir.path, TRANSCRIPT_FILE))
      const restore = async () => writeFile(join(dir.path, TRANSCRIPT_FILE), original)
      await editTranscript(dir.path, (t) => { t.entries[2]!.contributionHash = otherHash(t.entries[2]!.contributionHash!) })
      await rejectsChain(dir.path, /entry 2 .*contribution hash or name/)
      await restore()
      await editTranscript(dir.path, (t) => { t.entries[1]!.name = 'someone else' })
      await rejectsChain(dir.path, /entry 1 .*contribution hash or name/)
      await restore()
      await editTranscript(dir.path, (t) => { t.circuitHash = otherHash(t.circuitHash) })
      await rejectsChain(dir.path, /circuit hash/)
      await restore()
      await editTranscript(dir.path, (t) => { t.entries.at(-1)!.beaconHash = 'ff' + t.entries.at(-1)!.beaconHash!.slice(2) })
      await rejectsChain(dir.path, /beacon value or iterations are not the transcript's/)
      await restore()
      await editTranscript(dir.path, (t) => { t.entries.at(-1)!.iterationsExp = 11 })
      await rejectsChain(dir.path, /beacon value or iterations are not the transcript's/)
      await restore()
      await editTranscript(dir.path, (t) => { t.entries.pop() })
      await rejectsChain(dir.path, /no beacon yet/)
    } finally {
      await dir.cleanup()
    }
  })

  it('fails when a middle zkey comes from another chain, even with the transcript rewritten to match it', async () => {
    const dir = await copyOfCircuits()
    try {
      const t = await readTranscript(dir.path)
      const forged = join(dir.path, 'forged.zkey')
      const hash = await phase2.contribute(join(dir.path, t.entries[0]!.file), forged, t.entries[1]!.name!, 'attacker entropy')
      const bytes = await readFile(forged)
      await rm(forged)
      await writeFile(join(dir.path, t.entries[1]!.file), bytes)
      await editTranscript(dir.path, (e) => {
        e.entries[1]!.sha256 = sha256Hex(bytes)
        e.entries[1]!.contributionHash = Buffer.from(hash).toString('hex')
      })
      await rejectsChain(dir.path, /entry 2 .*does not extend the zkey before it/)
    } finally {
      await dir.cleanup()
    }
  })

  it('fails when a contribution is a beacon (whose secret anyone can compute), or the final zkey is not byte for byte the beacon\'s output', async () => {
    const dir = await copyOfCircuits()
    try {
      const t = await readTranscript(dir.path)
      const original = await readFile(join(dir.path, TRANSCRIPT_FILE))
      const second = t.entries[2]!
      const forged = join(dir.path, 'forged.zkey')
      const hash = await phase2.beacon(join(dir.path, t.entries[1]!.file), forged, second.name!, '00', 10)
      assert.ok(hash instanceof Uint8Array)
      const bytes = await readFile(forged)
      await rm(forged)
      const kept = await readFile(join(dir.path, second.file))
      await writeFile(join(dir.path, second.file), bytes)
      await editTranscript(dir.path, (e) => {
        e.entries[2]!.sha256 = sha256Hex(bytes)
        e.entries[2]!.contributionHash = Buffer.from(hash).toString('hex')
      })
      await rejectsChain(dir.path, /entry 2 .*newest contribution is a beacon/)
      await writeFile(join(dir.path, second.file), kept)
      await writeFile(join(dir.path, TRANSCRIPT_FILE), original)

      // snarkjs reads a zkey by its section table and ignores what follows: only the re-run beacon tells
      const finalPath = join(dir.path, ARTEFACT_FILES.zkey)
      const padded = Buffer.concat([await readFile(finalPath), Buffer.from([0])])
      await writeFile(finalPath, padded)
      await editTranscript(dir.path, (e) => { e.entries.at(-1)!.sha256 = sha256Hex(padded) })
      await rejectsChain(dir.path, /not the beacon's output from the zkey before it/)
    } finally {
      await dir.cleanup()
    }
  })

  it('fails when the keys are not what the final zkey exports, or the inputs or the directory differ', async () => {
    const dir = await copyOfCircuits()
    try {
      const vkPath = join(dir.path, ARTEFACT_FILES.verificationKey)
      const vk = await readFile(vkPath)
      // still a valid key file for the loader once SHA256SUMS follows: only the export tells
      await writeFile(vkPath, Buffer.concat([vk, Buffer.from('\n')]))
      await writeFile(join(dir.path, CHECKSUMS_FILE), (await readFile(join(dir.path, CHECKSUMS_FILE), 'utf8'))
        .replace(sha256Hex(vk), sha256Hex(await readFile(vkPath))))
      await rejectsChain(dir.path, /verification_key\.json is not what ownership_final\.zkey exports/)
      await writeFile(vkPath, vk)
      await rejectsChain(dir.path, /SHA256SUMS does not match/)

      await rm(dir.path, { recursive: true, force: true })
      await cp(DEFAULT_CIRCUITS_DIR, dir.path, { recursive: true })
      await writeFile(join(dir.path, 'ceremony', '0009.zkey'), await readFile(join(dir.path, 'ceremony', '0001.zkey')))
      await rejectsChain(dir.path, /0009\.zkey is not in the transcript/)
      await rm(join(dir.path, 'ceremony', '0009.zkey'))

      const ptau = await readFile(join(dir.path, ARTEFACT_FILES.ptau))
      ptau[ptau.length - 1]! ^= 1
      await writeFile(join(dir.path, ARTEFACT_FILES.ptau), ptau)
      await rejectsChain(dir.path, /pot_final\.ptau is not the ptau the chain was made from/)
    } finally {
      await dir.cleanup()
    }
  })

  it('extends: a new contribution to an open copy of the chain, then a beacon, and the result verifies; a closed chain takes no more', async () => {
    const dir = await copyOfCircuits()
    try {
      await assert.rejects(contribute({ dir: dir.path, name: 'late contributor' }), CeremonyStateError)
      await assert.rejects(startChain({ dir: dir.path }), CeremonyStateError)

      const committed = await readTranscript(dir.path)
      await editTranscript(dir.path, (t) => { t.entries.pop() })
      const entry = await contribute({ dir: dir.path, name: 'test contributor', now: new Date('2026-12-01T12:00:00Z') })
      assert.equal(entry.index, committed.entries.length - 1)
      assert.equal(entry.file, `ceremony/${String(entry.index).padStart(4, '0')}.zkey`)
      assert.equal(entry.date, '2026-12-01T12:00:00.000Z')
      const open = await verifyChain({ dir: dir.path, open: true })
      assert.equal(open.final, false)
      assert.deepEqual(open.transcript.entries.map((e) => e.name ?? ''), [...committed.entries.slice(0, -1).map((e) => e.name ?? ''), 'test contributor'])
      await rejectsChain(dir.path, /no beacon yet/)

      const vectorFile = join(dir.path, 'vector.json')
      const { proofSystemId } = await applyBeacon({ dir: dir.path, beaconHash: '00ff', iterationsExp: 10, vectorFile })
      const report = await verifyChain({ dir: dir.path })
      assert.equal(report.proofSystemId, proofSystemId)
      assert.notEqual(proofSystemId, (await loadProofArtefacts()).proofSystemId, 'a new contribution is a new key')
      assert.equal((await loadProofArtefacts({ dir: dir.path })).proofSystemId, proofSystemId)
      assert.equal((JSON.parse(await readFile(vectorFile, 'utf8')) as { proofSystemId: string }).proofSystemId, proofSystemId)
    } finally {
      await dir.cleanup()
    }
  })

  it('refuses names snarkjs would not keep as given, and beacon parameters it would refuse', () => {
    assert.equal(checkContributorName('Ada, on her own laptop'), 'Ada, on her own laptop')
    for (const name of ['', ' ', 'two\nlines', 'tab\there', ' padded', 'x'.repeat(65)]) {
      assert.throws(() => checkContributorName(name), CeremonyUsageError, JSON.stringify(name))
    }
    checkBeaconParameters('00ff', 10)
    for (const [hash, exp] of [['0', 10], ['00FF', 10], ['zz', 10], ['', 10], ['00'.repeat(256), 10], ['00', 9], ['00', 64], ['00', 10.5]] as const) {
      assert.throws(() => checkBeaconParameters(hash, exp), CeremonyUsageError, `${hash} ${exp}`)
    }
  })

  it('the command exits 1 with the reason on a broken chain, and 2 on a usage error', async () => {
    const dir = await copyOfCircuits()
    try {
      const path = join(dir.path, 'ceremony', '0002.zkey')
      const bytes = await readFile(path)
      bytes[100]! ^= 1
      await writeFile(path, bytes)
      await assert.rejects(run(process.execPath, [CLI, 'verify', '--dir', dir.path]), (err: { code: number, stderr: string }) => {
        assert.equal(err.code, 1)
        assert.match(err.stderr, /ceremony: entry 2 \(ceremony\/0002\.zkey\): its SHA-256 is not the one in the transcript/)
        return true
      })
      await assert.rejects(run(process.execPath, [CLI, 'contribute', '--dir', dir.path]), (err: { code: number, stderr: string }) => {
        assert.equal(err.code, 2)
        assert.match(err.stderr, /--name/)
        return true
      })
    } finally {
      await dir.cleanup()
    }
  })
})
