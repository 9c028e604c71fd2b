// The steps that extend the phase-2 chain: start (the initial zkey), contribute (fresh
// entropy), beacon (the final, publicly reproducible step, which also writes the key
// artefacts). Each step verifies the chain it extends first: a contributor who builds
// on a broken chain would be wasting their contribution.
import { randomBytes } from 'node:crypto'
import { access, mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ARTEFACT_FILES, sha256Hex } from '../../src/adapters/proof/artefacts.ts'
import { acquireSharedBn128 } from '../../src/adapters/proof/shared-bn128.ts'
import { CeremonyChainError, CeremonyStateError, CeremonyUsageError } from './ceremony-errors.ts'
import {
  CEREMONY_DIR, chainFile, checkContributorName, isFinal, readTranscript, TRANSCRIPT_FILE, writeTranscript,
  type Transcript, type TranscriptEntry
} from './ceremony-transcript.ts'
import { verifyChain } from './ceremony-verify.ts'
import { writeKeyArtefacts, writeProofVector } from './key-artefacts.ts'
import { loggedCircuitHash, recordingLogger } from './snarkjs-log.ts'
import { phase2 } from './snarkjs-phase2.ts'

export interface StepOptions {
  /** The circuits directory (circuits/ of the checkout by default). */
  dir: string
  /** When the entry is recorded; the clock of the machine by default. */
  now?: Date
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')
const dateOf = (options: StepOptions) => (options.now ?? new Date()).toISOString()

async function withCurve<T> (run: () => Promise<T>): Promise<T> {
  // snarkjs reuses the process-wide curve; releasing it ends its worker threads.
  const shared = await acquireSharedBn128()
  try {
    return await run()
  } finally {
    await shared.release()
  }
}

async function entryFor (options: StepOptions, fields: Omit<TranscriptEntry, 'date' | 'sha256'>): Promise<TranscriptEntry> {
  return { ...fields, date: dateOf(options), sha256: sha256Hex(await readFile(join(options.dir, fields.file))) }
}

/** zkey new from the committed r1cs and phase-1 ptau: ceremony/0000.zkey and a new transcript. */
export async function startChain (options: StepOptions): Promise<Transcript> {
  const { dir } = options
  const exists = await access(join(dir, TRANSCRIPT_FILE)).then(() => true, () => false)
  if (exists) throw new CeremonyStateError(`${TRANSCRIPT_FILE} exists: the chain has started; contribute to it, or remove ${CEREMONY_DIR}/ to start over`)
  await mkdir(join(dir, CEREMONY_DIR), { recursive: true })
  const r1cs = join(dir, ARTEFACT_FILES.r1cs)
  const ptau = join(dir, ARTEFACT_FILES.ptau)
  const rec = recordingLogger()
  const created = await withCurve(async () => phase2.newZKey(r1cs, ptau, join(dir, chainFile(0)), rec.logger))
  const circuitHash = loggedCircuitHash(rec.info)
  if (created === -1 || circuitHash === undefined) throw new CeremonyChainError(`zkey new failed: ${rec.errors.join('; ') || 'snarkjs printed no circuit hash'}`)
  const transcript: Transcript = {
    version: 1,
    r1cs: { file: ARTEFACT_FILES.r1cs, sha256: sha256Hex(await readFile(r1cs)) },
    ptau: { file: ARTEFACT_FILES.ptau, sha256: sha256Hex(await readFile(ptau)) },
    circuitHash,
    entries: [await entryFor(options, { index: 0, kind: 'new', file: chainFile(0) })]
  }
  await writeTranscript(dir, transcript)
  return transcript
}

/** Verifies the open chain and returns its transcript; refuses a chain the beacon closed. */
async function openChain (dir: string): Promise<Transcript> {
  const transcript = await readTranscript(dir)
  if (isFinal(transcript)) throw new CeremonyStateError('the beacon has closed the chain: nothing can follow it (a new ceremony starts over)')
  await verifyChain({ dir, open: true })
  return transcript
}

/** Adds one contribution with 64 bytes of fresh OS entropy, never printed or stored. */
export async function contribute (options: StepOptions & { name: string }): Promise<TranscriptEntry> {
  const { dir } = options
  const name = checkContributorName(options.name)
  const transcript = await openChain(dir)
  const previous = transcript.entries.at(-1)!
  const index = transcript.entries.length
  const file = chainFile(index)
  const hash = await withCurve(async () => phase2.contribute(join(dir, previous.file), join(dir, file), name, randomBytes(64).toString('hex')))
  const entry = await entryFor(options, { index, kind: 'contribution', name, file, contributionHash: hex(hash) })
  transcript.entries.push(entry)
  await writeTranscript(dir, transcript)
  return entry
}

export interface BeaconOptions extends StepOptions {
  /** The beacon value, hex: 1 to 255 bytes that nobody could know before the last contribution. */
  beaconHash: string
  /** The beacon is hashed 2^iterationsExp times (10 to 63), so that nobody can try values in time. */
  iterationsExp: number
  name?: string
  /** Where the interoperability vector goes (test/vectors/ownership-proof.json by default). */
  vectorFile: string
}

export function checkBeaconParameters (beaconHash: string, iterationsExp: number): void {
  if (!/^([0-9a-f]{2}){1,255}$/.test(beaconHash)) throw new CeremonyUsageError('the beacon hash is 1 to 255 bytes of lowercase hex')
  if (!Number.isInteger(iterationsExp) || iterationsExp < 10 || iterationsExp > 63) throw new CeremonyUsageError('the beacon iterations exponent is a whole number from 10 to 63')
}

/**
 * The final step: snarkjs' beacon over the last contribution, written as
 * ownership_final.zkey; then the verification key, SHA256SUMS and the vector.
 */
export async function applyBeacon (options: BeaconOptions): Promise<{ entry: TranscriptEntry, proofSystemId: string }> {
  const { dir, beaconHash, iterationsExp } = options
  checkBeaconParameters(beaconHash, iterationsExp)
  const name = checkContributorName(options.name ?? 'final beacon')
  const transcript = await openChain(dir)
  if (transcript.entries.length < 2) throw new CeremonyStateError('the chain has no contribution yet: a beacon alone would leave the key known to anyone')
  const previous = transcript.entries.at(-1)!
  const file = ARTEFACT_FILES.zkey
  const entry = await withCurve(async () => {
    const hash = await phase2.beacon(join(dir, previous.file), join(dir, file), name, beaconHash, iterationsExp)
    if (hash === false) throw new CeremonyChainError('snarkjs refused the beacon parameters')
    return await entryFor(options, { index: transcript.entries.length, kind: 'beacon', name, file, contributionHash: hex(hash), beaconHash, iterationsExp })
  })
  transcript.entries.push(entry)
  await writeTranscript(dir, transcript)
  await withCurve(async () => writeKeyArtefacts(dir))
  const proofSystemId = await writeProofVector(dir, options.vectorFile)
  return { entry, proofSystemId }
}
