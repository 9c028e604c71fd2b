import { randomBytes } from 'node:crypto'
import { defineError } from '../../errors.ts'
import {
  CATALOGUE_PIECE_VERSION, CATALOGUE_VERSION, catalogueFields, catalogueVersionFor, decodeCatalogue, encodeCatalogue, encodeValidCatalogue, InvalidCatalogueError, validateCatalogue,
  type Catalogue, type CatalogueEntry, type CatalogueGroup
} from './catalogue-format.ts'
import { catalogueKey, catalogueWriteKeySeed } from '../crypto/key-derivation.ts'
import { writeKeyOf, type WriteKey } from '../capabilities/file-capabilities.ts'
import { signBody, splitSignedBody, verifyBody } from '../capabilities/signed-body.ts'
import { relativePathProblem } from './relative-path.ts'
import { PieceCodec, type Edition } from './sealed-pieces.ts'

export * from './catalogue-format.ts'

/**
 * The owner's catalogue: their list of stored files, the one thing `init --recover`
 * needs to bring back (with the recovery phrase) before `get` can restore everything.
 * It holds no key: each file's root F is derived again from the master secret and the
 * file id. protocol-spec/manifests-and-catalogue.md is normative.
 *
 * A `put` of a directory stores each file as its own entry, its path (starting with
 * the directory's name) in `name`, and marks all of them with one `group` (a random id
 * and the directory's name) so `ls` can show the tree as one item and `get` restore it.
 * Directory entries (kind 'directory', no manifest) keep empty directories and the
 * directories' modes.
 *
 * Every change is a new catalogue with `generation` one higher, signed with the owner's
 * catalogue write key, sealed as a new edition under the catalogue key
 * (sealed-pieces.ts) and stored under the catalogue commitment. A recovering node gets
 * all editions it can find and keeps the newest that the owner signed. Only the owner
 * knows the catalogue key, so the signature adds nothing against strangers today; it
 * keeps the rule of protocol v2 that no writer-less document is ever believed.
 */

/** A catalogue piece does not open under this owner's catalogue key. */
export const CatalogueDecryptionError = defineError('CatalogueDecryptionError', 'catalogue-decryption')
export type CatalogueDecryptionError = InstanceType<typeof CatalogueDecryptionError>

export const MAX_CATALOGUE_PIECES = 512

const PIECE_LABEL = 'quloud/v2/catalogue-piece'
/** What the owner's catalogue key signs each generation under (signed-body.ts). */
export const CATALOGUE_SIGNATURE_LABEL = 'quloud/v2/catalogue'

/** The catalogue does not carry the owner's valid signature. */
export const CatalogueSignatureError = defineError('CatalogueSignatureError', 'catalogue-signature')
export type CatalogueSignatureError = InstanceType<typeof CatalogueSignatureError>
const utf8 = new TextEncoder()

/** Generation 0: no files yet. */
export function emptyCatalogue (now: number): Catalogue {
  return validateCatalogue({ version: CATALOGUE_VERSION, generation: 0, updatedAt: now, entries: [] })
}

/** The next generation of `previous`, holding `entries`; updatedAt never goes back. */
export function nextGeneration (previous: Catalogue, entries: CatalogueEntry[], now: number): Catalogue {
  return validateCatalogue(nextGenerationOf(previous, entries, now))
}

function nextGenerationOf (previous: Catalogue, entries: CatalogueEntry[], now: number): Catalogue {
  return { version: catalogueVersionFor(entries, previous.version), generation: previous.generation + 1, updatedAt: Math.max(now, previous.updatedAt), entries }
}

/** A new group for a `put` of directory `root` (one name segment). */
export function newCatalogueGroup (root: string, random: (n: number) => Uint8Array = randomBytes): CatalogueGroup {
  if (relativePathProblem(root) !== undefined || root.includes('/')) throw catalogueFields.fail('group root', 'must be one valid name segment')
  return { id: Buffer.from(random(16)).toString('hex'), root }
}

/** The catalogue sealed into pieces (at least one) under the owner's catalogue key. */
export function sealCatalogue (catalogue: Catalogue, master: Uint8Array, options?: { random?: (n: number) => Uint8Array }): Uint8Array[] {
  return sealCatalogueDocument(encodeCatalogue(catalogue), catalogue.generation, master, options?.random).pieces
}

/**
 * nextGeneration and sealCatalogue in one: the entries are checked and encoded once,
 * not once for the new generation and again for its pieces. With the document's bytes
 * and the sealing's edition id (what a catalogue delta names as its base).
 */
export function sealNextGeneration (previous: Catalogue, entries: CatalogueEntry[], now: number, master: Uint8Array, random?: (n: number) => Uint8Array): { catalogue: Catalogue, bytes: Uint8Array, edition: string, pieces: Uint8Array[] } {
  const { catalogue, bytes } = encodeValidCatalogue(nextGenerationOf(previous, entries, now))
  return { catalogue, bytes, ...sealCatalogueDocument(bytes, catalogue.generation, master, random) }
}

/** A catalogue document (a whole catalogue or a delta) signed by the owner and sealed as one new edition. */
export function sealCatalogueDocument (bytes: Uint8Array, generation: number, master: Uint8Array, random?: (n: number) => Uint8Array): { edition: string, pieces: Uint8Array[] } {
  return codecFor(master).sealEdition(signBody(CATALOGUE_SIGNATURE_LABEL, catalogueWriter(master), bytes), generation, random)
}

/**
 * The catalogue `pieces` (one sealing, any order, repeats allowed) hold.
 * CatalogueDecryptionError when a piece does not open; InvalidCatalogueError when they
 * are not one complete, valid catalogue.
 */
export function openCatalogue (pieces: Uint8Array[], master: Uint8Array): Catalogue {
  return catalogueOf(codecFor(master).openEdition(pieces), catalogueWriter(master))
}

/**
 * The newest valid catalogue among `pieces` gathered from holders (several
 * generations, strays, pieces of other owners all allowed; whatever does not open or
 * is incomplete is ignored); undefined when there is none.
 */
export function newestCatalogue (pieces: Uint8Array[], master: Uint8Array): Catalogue | undefined {
  const candidates: Catalogue[] = []
  const writer = catalogueWriter(master)
  // edition ids in a fixed order, so that full ties resolve the same on every run
  for (const edition of codecFor(master).openEditions(pieces).sort((a, b) => a.edition < b.edition ? -1 : 1)) {
    try {
      candidates.push(catalogueOf(edition, writer))
    } catch {
      // a valid sealing of an invalid catalogue (a buggy writer): not a candidate
    }
  }
  return chooseNewestCatalogue(candidates)
}

/** The highest generation; among equal generations the latest updatedAt; then the first given. */
export function chooseNewestCatalogue (candidates: Catalogue[]): Catalogue | undefined {
  let best: Catalogue | undefined
  for (const c of candidates) {
    if (best === undefined || c.generation > best.generation || (c.generation === best.generation && c.updatedAt > best.updatedAt)) best = c
  }
  return best
}

/** The AAD of every catalogue piece: version, label. */
export function cataloguePieceAad (): Uint8Array {
  return Uint8Array.from([CATALOGUE_PIECE_VERSION, ...utf8.encode(PIECE_LABEL), 0])
}

/** The codec of this owner's catalogue pieces (to drop what is not one as it arrives). */
export function cataloguePieceCodec (master: Uint8Array): PieceCodec {
  return codecFor(master)
}

function codecFor (master: Uint8Array): PieceCodec {
  return new PieceCodec({
    key: catalogueKey(master),
    aad: cataloguePieceAad(),
    maxPieces: MAX_CATALOGUE_PIECES,
    undecryptable: (reason, cause) => new CatalogueDecryptionError(`a catalogue piece does not open: ${reason}`, { cause }),
    invalid: (reason) => new InvalidCatalogueError(`invalid catalogue pieces: ${reason}`)
  })
}

/** The owner's catalogue write key: what signs every generation. */
export function catalogueWriter (master: Uint8Array): WriteKey {
  return writeKeyOf(catalogueWriteKeySeed(master))
}

function catalogueOf (edition: Edition, writer: WriteKey): Catalogue {
  const catalogue = decodeCatalogue(signedDocumentOf(edition, writer))
  if (catalogue.generation !== edition.generation) throw new InvalidCatalogueError('the catalogue generation differs from its pieces\'')
  return catalogue
}

/** The document `edition` holds, when `writer` signed it; CatalogueSignatureError otherwise. */
export function signedDocumentOf (edition: Edition, writer: WriteKey): Uint8Array {
  const signed = splitSignedBody(edition.body)
  if (signed === undefined || !verifyBody(CATALOGUE_SIGNATURE_LABEL, writer.publicKey, signed)) {
    throw new CatalogueSignatureError('the catalogue is not signed by this owner')
  }
  return signed.document
}

