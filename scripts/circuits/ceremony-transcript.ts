// The ceremony's transcript, circuits/ceremony/transcript.json: one entry per zkey of
// the phase-2 chain, in order. It is a record to check, not a source of trust: verify
// recomputes every hash in it from the files and from snarkjs' own account of the chain.
import { readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { printable } from '../../src/util/control-characters.ts'
import { CeremonyChainError, CeremonyUsageError } from './ceremony-errors.ts'

export const CEREMONY_DIR = 'ceremony'
/** Relative to the circuits directory, like every path in the transcript. */
export const TRANSCRIPT_FILE = `${CEREMONY_DIR}/transcript.json`

export type EntryKind = 'new' | 'contribution' | 'beacon'

export interface TranscriptEntry {
  index: number
  kind: EntryKind
  /** Who contributed ('new' has none). snarkjs stores it in the zkey too. */
  name?: string
  /** ISO 8601, UTC, when the entry was written. */
  date: string
  /** The zkey this step wrote, relative to the circuits directory. */
  file: string
  /** SHA-256 (hex) of that zkey. */
  sha256: string
  /** BLAKE2b-512 (hex) of this step's public key, the "Contribution Hash" snarkjs prints. */
  contributionHash?: string
  /** Beacon only: the beacon value (hex) and the exponent of its 2^n SHA-256 iterations. */
  beaconHash?: string
  iterationsExp?: number
}

export interface Transcript {
  version: 1
  /** The inputs every zkey is checked against, relative to the circuits directory. */
  r1cs: { file: string, sha256: string }
  ptau: { file: string, sha256: string }
  /** The "Circuit Hash" snarkjs prints (BLAKE2b-512, hex, of the circuit's key sections made from the r1cs and this ptau): every zkey of the chain carries it. */
  circuitHash: string
  entries: TranscriptEntry[]
}

/** snarkjs keeps 64 characters of a name; a longer one, or a line break in one, would not survive the round trip. */
export const MAX_NAME_LENGTH = 64

export function checkContributorName (name: string): string {
  if (name.trim() === '' || name.length > MAX_NAME_LENGTH || printable(name) !== name || name.trim() !== name) {
    throw new CeremonyUsageError(`a contributor name is 1 to ${MAX_NAME_LENGTH} printable characters without leading or trailing spaces`)
  }
  return name
}

/** The file of the chain's n-th zkey. The beacon's output is ownership_final.zkey instead. */
export function chainFile (index: number): string {
  return `${CEREMONY_DIR}/${String(index).padStart(4, '0')}.zkey`
}

export async function readTranscript (dir: string): Promise<Transcript> {
  let text: string
  try {
    text = await readFile(join(dir, TRANSCRIPT_FILE), 'utf8')
  } catch (err) {
    throw new CeremonyChainError(`cannot read ${TRANSCRIPT_FILE} in ${dir} (run start first?)`, { cause: err })
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new CeremonyChainError(`${TRANSCRIPT_FILE} is not JSON`, { cause: err })
  }
  return parseTranscript(json)
}

/** Written beside and renamed over, so an interrupted step leaves the previous transcript whole. */
export async function writeTranscript (dir: string, transcript: Transcript): Promise<void> {
  const path = join(dir, TRANSCRIPT_FILE)
  await writeFile(path + '.tmp', JSON.stringify({ ...transcript, entries: transcript.entries.map(inOrder) }, null, 2) + '\n')
  await rename(path + '.tmp', path)
}

const HEX64 = /^[0-9a-f]{64}$/
const HEX128 = /^[0-9a-f]{128}$/

function fail (what: string): never {
  throw new CeremonyChainError(`${TRANSCRIPT_FILE}: ${what}`)
}

function object (value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`${what} is not an object`)
  return value as Record<string, unknown>
}

function text (value: unknown, what: string, pattern?: RegExp): string {
  if (typeof value !== 'string' || (pattern !== undefined && !pattern.test(value))) fail(`${what} is missing or malformed`)
  return value
}

function fileRef (value: unknown, what: string): { file: string, sha256: string } {
  const o = object(value, what)
  return { file: text(o.file, `${what}.file`), sha256: text(o.sha256, `${what}.sha256`, HEX64) }
}

function entry (value: unknown, position: number): TranscriptEntry {
  const what = `entry ${position}`
  const o = object(value, what)
  if (o.index !== position) fail(`${what} has index ${String(o.index)}`)
  const kind = o.kind
  if (kind !== 'new' && kind !== 'contribution' && kind !== 'beacon') fail(`${what} has an unknown kind`)
  const contributed = kind !== 'new'
  const beacon = kind === 'beacon'
  if (beacon && !Number.isInteger(o.iterationsExp)) fail(`${what}.iterationsExp is not an integer`)
  return inOrder({
    index: position,
    kind,
    name: contributed ? text(o.name, `${what}.name`) : undefined,
    date: text(o.date, `${what}.date`, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/),
    file: text(o.file, `${what}.file`),
    sha256: text(o.sha256, `${what}.sha256`, HEX64),
    contributionHash: contributed ? text(o.contributionHash, `${what}.contributionHash`, HEX128) : undefined,
    beaconHash: beacon ? text(o.beaconHash, `${what}.beaconHash`, /^([0-9a-f]{2}){1,255}$/) : undefined,
    iterationsExp: beacon ? o.iterationsExp as number : undefined
  })
}

/** One key order for every entry, however it was built, so the file reads the same from start to end. */
function inOrder (e: TranscriptEntry): TranscriptEntry {
  const { index, kind, name, date, file, sha256, contributionHash, beaconHash, iterationsExp } = e
  const all = { index, kind, name, date, file, sha256, contributionHash, beaconHash, iterationsExp }
  return Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined)) as unknown as TranscriptEntry
}

/** Checks the shape and the order of kinds: one 'new' first, contributions, at most one beacon, last. */
export function parseTranscript (json: unknown): Transcript {
  const o = object(json, 'the transcript')
  if (o.version !== 1) fail('unknown version')
  if (!Array.isArray(o.entries) || o.entries.length === 0) fail('has no entries')
  const entries = o.entries.map(entry)
  entries.forEach((e, i) => {
    if ((i === 0) !== (e.kind === 'new')) fail(`entry ${i}: only the first entry is the initial zkey`)
    if (e.kind === 'beacon' && i !== entries.length - 1) fail(`entry ${i}: nothing follows the beacon`)
  })
  return {
    version: 1,
    r1cs: fileRef(o.r1cs, 'r1cs'),
    ptau: fileRef(o.ptau, 'ptau'),
    circuitHash: text(o.circuitHash, 'circuitHash', HEX128),
    entries
  }
}

export function isFinal (transcript: Transcript): boolean {
  return transcript.entries.at(-1)!.kind === 'beacon'
}
