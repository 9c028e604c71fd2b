// Checks the whole phase-2 chain from the committed r1cs and phase-1 file, trusting
// nothing the transcript says: phase 1 is verified, the initial zkey is rebuilt, every
// zkey is verified by snarkjs against r1cs + ptau and must extend the one before it,
// the transcript's hashes are recomputed, the beacon is re-run and the key artefacts
// re-exported.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as snarkjs from 'snarkjs'
import { ARTEFACT_FILES, CHECKSUMS_FILE, proofSystemIdOf, sha256Hex } from '../../src/adapters/proof/artefacts.ts'
import { acquireSharedBn128 } from '../../src/adapters/proof/shared-bn128.ts'
import { CeremonyChainError } from './ceremony-errors.ts'
import { CEREMONY_DIR, chainFile, isFinal, readTranscript, TRANSCRIPT_FILE, type Transcript, type TranscriptEntry } from './ceremony-transcript.ts'
import { checksumsText, verificationKeyText } from './key-artefacts.ts'
import { loggedCircuitHash, loggedContributions, recordingLogger, type LoggedContribution } from './snarkjs-log.ts'
import { phase2 } from './snarkjs-phase2.ts'

export interface VerifyOptions {
  dir: string
  /** Accept a chain the beacon has not closed yet (what a contributor checks before contributing). */
  open?: boolean
  /** Progress, one line a step. */
  progress?: (line: string) => void
}

export interface ChainReport {
  transcript: Transcript
  final: boolean
  /** Set when the chain is final: the id of the verification key it exports. */
  proofSystemId?: string
}

function fail (what: string): never {
  throw new CeremonyChainError(what)
}

const expectedFile = (entry: TranscriptEntry) => entry.kind === 'beacon' ? ARTEFACT_FILES.zkey : chainFile(entry.index)

async function checkInputs (dir: string, transcript: Transcript): Promise<void> {
  for (const [what, ref, file] of [['r1cs', transcript.r1cs, ARTEFACT_FILES.r1cs], ['ptau', transcript.ptau, ARTEFACT_FILES.ptau]] as const) {
    if (ref.file !== file) fail(`${TRANSCRIPT_FILE}: the chain must be checked against ${file}, not ${ref.file}`)
    if (sha256Hex(await readFile(join(dir, file))) !== ref.sha256) fail(`${file} is not the ${what} the chain was made from (SHA-256 differs from ${TRANSCRIPT_FILE})`)
  }
  const listed = new Set(transcript.entries.map((e) => e.file))
  for (const name of await readdir(join(dir, CEREMONY_DIR))) {
    const file = `${CEREMONY_DIR}/${name}`
    if (file !== TRANSCRIPT_FILE && !listed.has(file)) fail(`${file} is not in the transcript (left by an interrupted step? remove it)`)
  }
}

export async function verifyChain (options: VerifyOptions): Promise<ChainReport> {
  const { dir } = options
  const progress = options.progress ?? (() => {})
  const transcript = await readTranscript(dir)
  const final = isFinal(transcript)
  if (!final && options.open !== true) fail('the chain has no beacon yet, so the committed keys are not its output (finalise it with beacon)')
  await checkInputs(dir, transcript)
  // the cheap checks first, so a changed file fails in milliseconds
  const zkeys: Buffer[] = []
  for (const entry of transcript.entries) {
    const at = `entry ${entry.index} (${entry.file})`
    if (entry.file !== expectedFile(entry)) fail(`${at}: a ${entry.kind} zkey is ${expectedFile(entry)}`)
    const bytes = await readFile(join(dir, entry.file)).catch((err: unknown) => fail(`${at}: cannot read it (${String(err)})`))
    if (sha256Hex(bytes) !== entry.sha256) fail(`${at}: its SHA-256 is not the one in the transcript`)
    zkeys.push(bytes)
  }
  const r1cs = join(dir, ARTEFACT_FILES.r1cs)
  const ptau = join(dir, ARTEFACT_FILES.ptau)
  const work = await mkdtemp(join(tmpdir(), 'quloud-ceremony-verify-'))
  const shared = await acquireSharedBn128()
  try {
    const init = join(work, 'init.zkey')
    const rec = recordingLogger()
    if (await phase2.newZKey(r1cs, ptau, init, rec.logger) === -1) fail(`zkey new refuses ${ARTEFACT_FILES.r1cs} with ${ARTEFACT_FILES.ptau}`)
    if (loggedCircuitHash(rec.info) !== transcript.circuitHash) fail(`${TRANSCRIPT_FILE}: the circuit hash is not that of ${ARTEFACT_FILES.r1cs}`)
    // snarkjs leaves files it opened by name open when a check fails; bytes need no descriptor
    const initBytes = await readFile(init)
    if (!zkeys[0]!.equals(initBytes)) fail(`entry 0 (${transcript.entries[0]!.file}): not what zkey new makes of ${ARTEFACT_FILES.r1cs} and ${ARTEFACT_FILES.ptau}`)
    const ptauBytes = await readFile(ptau)

    progress(`phase 1: powers of tau verify ${ARTEFACT_FILES.ptau}`)
    if (await snarkjs.powersOfTau.verify(ptau, recordingLogger().logger) !== true) fail(`${ARTEFACT_FILES.ptau} fails powers of tau verify`)

    let before: LoggedContribution[] = []
    for (const entry of transcript.entries) {
      const at = `entry ${entry.index} (${entry.file})`
      progress(`zkey verify ${entry.file} against ${ARTEFACT_FILES.r1cs} and ${ARTEFACT_FILES.ptau}`)
      const log = recordingLogger()
      if (await phase2.verifyFromInit(initBytes, ptauBytes, zkeys[entry.index]!, log.logger) !== true) fail(`${at}: zkey verify fails${log.errors.length > 0 ? ': ' + log.errors.join('; ') : ''}`)
      const contributions = loggedContributions(log.info)
      if (contributions.length !== entry.index) fail(`${at}: holds ${contributions.length} contributions, not ${entry.index}`)
      before.forEach((c, i) => {
        if (c.hash !== contributions[i]!.hash) fail(`${at}: does not extend the zkey before it (contribution ${i + 1} differs)`)
      })
      const own = contributions.at(-1)
      if (own !== undefined && (own.hash !== entry.contributionHash || own.name !== entry.name)) {
        fail(`${at}: the transcript's contribution hash or name is not the zkey's (${own.name})`)
      }
      // a beacon's secret is public: one posing as a contribution would add nothing
      if (own !== undefined && (entry.kind === 'beacon') !== (own.beacon !== undefined)) {
        fail(`${at}: the zkey's newest contribution is ${own.beacon === undefined ? 'not ' : ''}a beacon`)
      }
      if (own?.beacon !== undefined && (own.beacon.hash !== entry.beaconHash || own.beacon.iterationsExp !== entry.iterationsExp)) {
        fail(`${at}: the zkey's beacon value or iterations are not the transcript's`)
      }
      if (entry.kind === 'beacon') {
        const previous = transcript.entries[entry.index - 1]!.file
        progress(`beacon: recompute ${entry.file} from ${previous}`)
        const again = join(work, 'beacon.zkey')
        if (await phase2.beacon(join(dir, previous), again, entry.name!, entry.beaconHash!, entry.iterationsExp!) === false) fail(`${at}: snarkjs refuses the beacon parameters`)
        if (!(await readFile(again)).equals(zkeys[entry.index]!)) fail(`${at}: not the beacon's output from the zkey before it`)
      }
      before = contributions
    }

    if (!final) return { transcript, final }
    progress(`key artefacts: ${ARTEFACT_FILES.verificationKey} and ${CHECKSUMS_FILE} from ${ARTEFACT_FILES.zkey}`)
    const vk = await readFile(join(dir, ARTEFACT_FILES.verificationKey))
    if (!vk.equals(Buffer.from(await verificationKeyText(join(dir, ARTEFACT_FILES.zkey))))) fail(`${ARTEFACT_FILES.verificationKey} is not what ${ARTEFACT_FILES.zkey} exports`)
    const sums = await checksumsText(dir).catch((err: unknown) => fail(`an artefact is missing: ${String(err)}`))
    if ((await readFile(join(dir, CHECKSUMS_FILE), 'utf8')) !== sums) fail(`${CHECKSUMS_FILE} does not match the artefacts`)
    return { transcript, final, proofSystemId: proofSystemIdOf(vk) }
  } finally {
    await shared.release()
    await rm(work, { recursive: true, force: true })
  }
}
