import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { defineError } from '../../errors.ts'
import { parseVerificationKey, type VerificationKey } from './verification-key.ts'

/**
 * The ownership proof's protocol artefacts, produced once by `npm run circuits:build`
 * (circuit and phase 1) and `npm run ceremony` (phase 2, scripts/ceremony.ts), and
 * committed under circuits/ with a SHA256SUMS file.
 * Paths are relative to that directory.
 */
export const ARTEFACT_FILES = {
  circuit: 'ownership.circom',
  r1cs: 'ownership.r1cs',
  wasm: 'ownership_js/ownership.wasm',
  witnessCalculator: 'ownership_js/witness_calculator.js',
  // Makes Node load the generated CommonJS witness calculator as CommonJS.
  witnessCalculatorPackage: 'ownership_js/package.json',
  zkey: 'ownership_final.zkey',
  ptau: 'pot_final.ptau',
  verificationKey: 'verification_key.json'
} as const

export const CHECKSUMS_FILE = 'SHA256SUMS'

export const DEFAULT_CIRCUITS_DIR = fileURLToPath(new URL('../../../circuits/', import.meta.url))

/** An artefact is missing or its SHA-256 differs from SHA256SUMS (or SHA256SUMS lacks it). */
export const ArtefactChecksumError = defineError('ArtefactChecksumError', 'artefact-checksum')
export type ArtefactChecksumError = InstanceType<typeof ArtefactChecksumError>

export interface ProofArtefacts {
  dir: string
  r1csPath: string
  wasmPath: string
  witnessCalculatorPath: string
  zkeyPath: string
  ptauPath: string
  verificationKeyPath: string
  verificationKey: VerificationKey
  /**
   * SHA-256 (lowercase hex) of verification_key.json's bytes. Nodes announce it; nodes
   * whose ids differ cannot check each other's proofs and do not federate.
   */
  proofSystemId: string
}

/** The proof-system id of a verification key file: SHA-256 hex of its exact bytes. */
export function proofSystemIdOf (verificationKeyBytes: Uint8Array): string {
  return sha256Hex(verificationKeyBytes)
}

/**
 * Locates the artefacts, checks every one against SHA256SUMS and parses the
 * verification key. Throws ArtefactChecksumError when a file is missing, altered or
 * unlisted, and InvalidVerificationKeyError when the key is not one for this circuit.
 */
export async function loadProofArtefacts (options: { dir?: string } = {}): Promise<ProofArtefacts> {
  const dir = options.dir ?? DEFAULT_CIRCUITS_DIR
  const sums = parseChecksums(await readArtefact(dir, CHECKSUMS_FILE))
  const contents = new Map<string, Buffer>()
  for (const file of Object.values(ARTEFACT_FILES)) {
    const expected = sums.get(file)
    if (expected === undefined) throw new ArtefactChecksumError(`${CHECKSUMS_FILE} does not list ${file}`)
    const bytes = await readArtefact(dir, file)
    if (sha256Hex(bytes) !== expected) throw new ArtefactChecksumError(`${file} does not match its SHA-256 in ${CHECKSUMS_FILE}`)
    contents.set(file, bytes)
  }
  const vkBytes = contents.get(ARTEFACT_FILES.verificationKey)!
  let json: unknown
  try {
    json = JSON.parse(vkBytes.toString('utf8'))
  } catch (err) {
    throw new ArtefactChecksumError(`${ARTEFACT_FILES.verificationKey} is not JSON`, { cause: err })
  }
  return {
    dir,
    r1csPath: join(dir, ARTEFACT_FILES.r1cs),
    wasmPath: join(dir, ARTEFACT_FILES.wasm),
    witnessCalculatorPath: join(dir, ARTEFACT_FILES.witnessCalculator),
    zkeyPath: join(dir, ARTEFACT_FILES.zkey),
    ptauPath: join(dir, ARTEFACT_FILES.ptau),
    verificationKeyPath: join(dir, ARTEFACT_FILES.verificationKey),
    verificationKey: parseVerificationKey(json),
    proofSystemId: proofSystemIdOf(vkBytes)
  }
}

/** Parses `sha256sum` output: "<64 hex>  <path>" per line. */
export function parseChecksums (bytes: Uint8Array): Map<string, string> {
  const sums = new Map<string, string>()
  for (const line of Buffer.from(bytes).toString('utf8').split('\n')) {
    if (line.trim() === '') continue
    const match = /^([0-9a-f]{64}) [ *](.+)$/.exec(line)
    if (match === null) throw new ArtefactChecksumError(`${CHECKSUMS_FILE}: unreadable line ${JSON.stringify(line.slice(0, 100))}`)
    sums.set(match[2]!, match[1]!)
  }
  return sums
}

export function sha256Hex (bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

async function readArtefact (dir: string, file: string): Promise<Buffer> {
  try {
    return await readFile(join(dir, file))
  } catch (err) {
    throw new ArtefactChecksumError(`cannot read proof artefact ${file} in ${dir}`, { cause: err })
  }
}
