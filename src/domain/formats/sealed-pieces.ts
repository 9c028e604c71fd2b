import { randomBytes } from 'node:crypto'
import { InvalidInputError } from '../../errors.ts'
import { AesGcmEnvelope, type OpenFailure } from '../crypto/aes-gcm-envelope.ts'
import { CHUNK_SIZE } from './chunker.ts'
import type { WriteKey } from '../capabilities/file-capabilities.ts'
import { SIGNATURE_BYTES, signBody, verifyBody } from '../capabilities/signed-body.ts'

/**
 * Values too large for one chunk (a file's manifest, the owner's catalogue) are stored
 * as pieces: the encoded value is cut into bodies and each body, behind a small header,
 * is sealed with the same envelope as a data chunk (aes-gcm-envelope.ts), so a sealed
 * piece is at most 1 MiB + 29 bytes, like a data chunk, and goes through the same
 * store protocol.
 *
 *   piece plaintext = edition (16) || generation (u64 BE) || index (u32 BE) || count (u32 BE) || body
 *   sealed piece    = envelope(key, AAD, piece plaintext)
 *
 * - `edition` is 16 random bytes drawn for each sealing: every piece of one sealing
 *   shares it, so pieces of two sealings (an older catalogue, the same manifest sealed
 *   twice) are never mixed, even when their generations are equal.
 * - `generation` is the caller's version counter (catalogue generation, manifest
 *   revision); the reader uses it to pick the newest edition.
 * - The header is inside the ciphertext, not in the clear: storage nodes learn neither
 *   how often a catalogue changed nor which pieces belong together. It is still bound
 *   to the piece: GCM authenticates the plaintext, so a piece cannot be moved to
 *   another edition, generation or index without failing to open.
 * - The AAD is the caller's (a distinct label per kind of value; the key is per file
 *   or per owner already), so a piece never opens as another kind of value or as a data chunk.
 *
 * Opening never returns a partial value: an edition is complete when it has every
 * index from 0 to count - 1, all with the same count and generation.
 */

/** Plaintext bytes of one piece, header included: the data chunk size. */
export const PIECE_BYTES = CHUNK_SIZE
export const EDITION_BYTES = 16
export const PIECE_HEADER_BYTES = EDITION_BYTES + 8 + 4 + 4
/** Body bytes per piece: 1 MiB - 32. */
export const PIECE_BODY_BYTES = PIECE_BYTES - PIECE_HEADER_BYTES

/** Pieces' envelope format version, as for data chunks. */
const PIECE_FORMAT_VERSION = 1

/** One complete sealing, opened and joined back together. */
export interface Edition {
  /** The edition id, lowercase hex. */
  edition: string
  generation: number
  body: Uint8Array
  /** The sealed pieces it was opened from, one per index. */
  sealed: Uint8Array[]
}

export interface OpenedPiece {
  edition: string
  generation: number
  index: number
  count: number
  body: Uint8Array
  sealed: Uint8Array
}

/**
 * Pieces signed one by one by a writer (manifests and tree listings): each piece's
 * plaintext ends with the writer's Ed25519 public key and its signature over
 * `label || 0x00 || header || body`. Everyone who can read a file can seal pieces that
 * open under its key, so without this a reader could not tell the owner's pieces from a
 * flood of others' before a whole edition was gathered; with it, a piece not signed by
 * the pinned writer is dropped the moment it arrives.
 */
export interface PieceSignature {
  label: string
  /** The key that signs when sealing; not needed to open. */
  writer?: WriteKey
  /** Whether a writer's public key is the one the reader trusts (the capability's pin). */
  accept: (publicKey: Uint8Array) => boolean
  /** Error for a piece not signed by a trusted writer. */
  refuse: (reason: string) => Error
}

/** Bytes a signature adds to a signed piece: the writer's public key and its signature. */
export const PIECE_SIGNATURE_BYTES = 32 + SIGNATURE_BYTES

export interface PieceCodecOptions {
  /** Secret key (32 bytes) of this kind of value. */
  key: Uint8Array
  /** AAD of every piece: the kind of value and what it belongs to. */
  aad: Uint8Array
  /** Most pieces one value may have; more is refused when sealing and opening. */
  maxPieces: number
  /** Error for a piece that does not open (wrong key, tampered, another kind of value). */
  undecryptable: OpenFailure
  /** Error for pieces that open but do not form one complete edition. */
  invalid: (reason: string) => Error
  /** Pieces signed one by one (manifests, tree listings). */
  signature?: PieceSignature
}

export class PieceCodec {
  private readonly envelope: AesGcmEnvelope
  private readonly options: PieceCodecOptions

  constructor (options: PieceCodecOptions) {
    this.envelope = new AesGcmEnvelope(options.key, PIECE_FORMAT_VERSION)
    this.options = { ...options, aad: Uint8Array.from(options.aad) }
  }

  /** `body` cut into pieces of one new edition and sealed; at least one piece, even for an empty body. */
  seal (body: Uint8Array, generation: number, random: (n: number) => Uint8Array = randomBytes): Uint8Array[] {
    return this.sealEdition(body, generation, random).pieces
  }

  /** As `seal`, with the edition id drawn (lowercase hex): what a catalogue delta names as its parent. */
  sealEdition (body: Uint8Array, generation: number, random: (n: number) => Uint8Array = randomBytes): { edition: string, pieces: Uint8Array[] } {
    if (!Number.isSafeInteger(generation) || generation < 0) throw new InvalidInputError(`a generation is a non-negative integer, got ${generation}`)
    const signature = this.options.signature
    if (signature !== undefined && signature.writer === undefined) throw new InvalidInputError('sealing signed pieces needs the writer key')
    const bodyBytes = signature === undefined ? PIECE_BODY_BYTES : PIECE_BODY_BYTES - PIECE_SIGNATURE_BYTES
    const count = Math.max(1, Math.ceil(body.byteLength / bodyBytes))
    if (count > this.options.maxPieces) throw this.options.invalid(`${body.byteLength} bytes need ${count} pieces, more than ${this.options.maxPieces}`)
    const edition = Uint8Array.from(random(EDITION_BYTES))
    if (edition.byteLength !== EDITION_BYTES) throw new InvalidInputError(`an edition id is ${EDITION_BYTES} bytes`)
    const pieces: Uint8Array[] = []
    for (let index = 0; index < count; index++) {
      const part = body.subarray(index * bodyBytes, (index + 1) * bodyBytes)
      const unsigned = new Uint8Array(PIECE_HEADER_BYTES + part.byteLength)
      const view = new DataView(unsigned.buffer)
      unsigned.set(edition, 0)
      view.setBigUint64(EDITION_BYTES, BigInt(generation))
      view.setUint32(EDITION_BYTES + 8, index)
      view.setUint32(EDITION_BYTES + 12, count)
      unsigned.set(part, PIECE_HEADER_BYTES)
      const plaintext = signature === undefined ? unsigned : signPiece(signature, unsigned)
      pieces.push(this.envelope.seal(this.options.aad, plaintext))
    }
    return { edition: Buffer.from(edition).toString('hex'), pieces }
  }

  /** One piece opened; `undecryptable` or `invalid` when it does not open or its header is impossible. */
  openPiece (sealed: Uint8Array): OpenedPiece {
    const opened = this.envelope.open(this.options.aad, sealed, this.options.undecryptable)
    const plaintext = this.options.signature === undefined ? opened : verifiedPiece(this.options.signature, opened)
    if (plaintext.byteLength < PIECE_HEADER_BYTES) throw this.options.invalid('a piece is shorter than its header')
    const view = new DataView(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength)
    const generation = view.getBigUint64(EDITION_BYTES)
    const index = view.getUint32(EDITION_BYTES + 8)
    const count = view.getUint32(EDITION_BYTES + 12)
    if (generation > BigInt(Number.MAX_SAFE_INTEGER)) throw this.options.invalid('a piece generation is beyond 2^53 - 1')
    if (count < 1 || count > this.options.maxPieces || index >= count) throw this.options.invalid(`impossible piece ${index} of ${count}`)
    return {
      edition: Buffer.from(plaintext.subarray(0, EDITION_BYTES)).toString('hex'),
      generation: Number(generation),
      index,
      count,
      body: plaintext.subarray(PIECE_HEADER_BYTES),
      sealed
    }
  }

  /** Whether `sealed` opens as a piece of this kind of value (filtering what holders return). */
  opens (sealed: Uint8Array): boolean {
    try {
      this.openPiece(sealed)
      return true
    } catch {
      return false
    }
  }

  /**
   * Strict: `pieces` (any order, repeats allowed) are exactly one complete edition.
   * A piece that does not open is `undecryptable`; a mix of editions, a missing piece
   * or an inconsistent header is `invalid`.
   */
  openEdition (pieces: Uint8Array[]): Edition {
    if (!Array.isArray(pieces) || pieces.length === 0) throw this.options.invalid('no pieces')
    const opened = pieces.map((piece) => this.openPiece(piece))
    const editions = new Set(opened.map((p) => p.edition))
    if (editions.size !== 1) throw this.options.invalid(`the pieces belong to ${editions.size} different editions`)
    return this.join(opened)
  }

  /**
   * Tolerant: every complete edition found among `pieces`, which may hold several
   * editions, incomplete ones, repeats and pieces that do not open (all of which are
   * skipped). As a requester gets them from `list` on several holders. With `strict`,
   * `pieces` are complete editions only: a piece that does not open is `undecryptable`,
   * an incomplete or inconsistent edition `invalid`.
   */
  openEditions (pieces: Uint8Array[], options?: { strict?: boolean }): Edition[] {
    const strict = options?.strict === true
    const byEdition = new Map<string, OpenedPiece[]>()
    for (const sealed of pieces) {
      let piece: OpenedPiece
      try {
        piece = this.openPiece(sealed)
      } catch (err) {
        if (strict) throw err
        continue
      }
      const group = byEdition.get(piece.edition)
      if (group === undefined) byEdition.set(piece.edition, [piece])
      else group.push(piece)
    }
    const complete: Edition[] = []
    for (const group of byEdition.values()) {
      try {
        complete.push(this.join(group))
      } catch (err) {
        if (strict) throw err
        // incomplete or inconsistent: skipped
      }
    }
    return complete
  }

  /** Pieces of one edition, checked complete and consistent, joined in index order. */
  private join (opened: OpenedPiece[]): Edition {
    const first = opened[0]!
    const bodies: Array<Uint8Array | undefined> = new Array(first.count)
    const sealed: Uint8Array[] = new Array(first.count)
    for (const piece of opened) {
      if (piece.count !== first.count || piece.generation !== first.generation) {
        throw this.options.invalid('pieces of one edition disagree on their count or generation')
      }
      const seen = bodies[piece.index]
      if (seen !== undefined && !Buffer.from(seen).equals(piece.body)) throw this.options.invalid(`two different pieces ${piece.index}`)
      bodies[piece.index] = piece.body
      sealed[piece.index] = piece.sealed
    }
    const missing = bodies.findIndex((body) => body === undefined)
    if (missing !== -1) throw this.options.invalid(`piece ${missing} of ${first.count} is missing`)
    return { edition: first.edition, generation: first.generation, body: Buffer.concat(bodies as Uint8Array[]), sealed }
  }
}

/** `unsigned || public key || signature`. */
function signPiece (signature: PieceSignature, unsigned: Uint8Array): Uint8Array {
  const writer = signature.writer!
  const signed = signBody(signature.label, writer, unsigned)
  const out = new Uint8Array(signed.byteLength + 32)
  out.set(unsigned, 0)
  out.set(writer.publicKey, unsigned.byteLength)
  out.set(signed.subarray(unsigned.byteLength), unsigned.byteLength + 32)
  return out
}

/** The piece without its signature, when the trusted writer signed it; `invalid` otherwise. */
function verifiedPiece (signature: PieceSignature, plaintext: Uint8Array): Uint8Array {
  if (plaintext.byteLength < PIECE_HEADER_BYTES + PIECE_SIGNATURE_BYTES) throw signature.refuse('a piece is too short to carry a signature')
  const end = plaintext.byteLength - PIECE_SIGNATURE_BYTES
  const unsigned = plaintext.subarray(0, end)
  const publicKey = plaintext.subarray(end, end + 32)
  if (!signature.accept(publicKey)) throw signature.refuse('a piece is signed by a key the capability does not name')
  if (!verifyBody(signature.label, publicKey, { document: unsigned, signature: plaintext.subarray(end + 32) })) throw signature.refuse('a piece signature does not verify')
  return unsigned
}
