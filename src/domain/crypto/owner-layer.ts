import { defineError, InvalidInputError } from '../../errors.ts'
import { AesGcmEnvelope, ENVELOPE_OVERHEAD } from './aes-gcm-envelope.ts'
import { FILE_ID_BYTES, isFileId, type FileId } from '../formats/file-id.ts'
import { contentKey, fileRoot, readRoot } from './key-derivation.ts'

/**
 * The owner layer: what leaves the owner's node is each chunk sealed with AES-256-GCM
 * under the file's content key (key-derivation.ts `contentKey`, from the file's read root). Storage nodes see
 * only this; its SHA-256 is the chunk id (chunk-id.ts). protocol-spec/owner-layer.md is
 * the normative description.
 *
 *   sealed = 0x01 || nonce (12) || ciphertext || tag (16)
 *   AAD    = 0x01 || file id (16) || chunk index (uint64 big-endian) || final (0x00 | 0x01)
 *
 * The AAD makes a chunk valid only at its place: one moved to another index or another
 * file, or a non-final chunk presented as the last one (a truncated file), fails to
 * open. Which ciphertext belongs at each place comes from the file's manifest (its list
 * of chunk ids); the AAD guards against a holder answering with another valid chunk.
 *
 * Nonces are random per seal (aes-gcm-envelope.ts has the bound). One key seals the
 * chunks of one file only, so even re-uploading a 1 TiB file a thousand times stays
 * near 2^30 seals, under the 2^32 per-key limit.
 */

export const OWNER_FORMAT_VERSION = 1

/** Sealed chunk length minus plaintext length. */
export const OWNER_CHUNK_OVERHEAD = ENVELOPE_OVERHEAD

/** AAD length: version, file id, index, final flag. */
const AAD_BYTES = 1 + FILE_ID_BYTES + 8 + 1

/** A sealed chunk is malformed, of an unknown version, or fails authentication at this place. */
export const ChunkDecryptionError = defineError('ChunkDecryptionError', 'chunk-decryption')
export type ChunkDecryptionError = InstanceType<typeof ChunkDecryptionError>

/**
 * Seals and opens the chunks of one file. Build one per file (it holds the file's key
 * as a node:crypto KeyObject, imported once) and drop it when done.
 */
export class OwnerChunkCipher {
  private readonly envelope: AesGcmEnvelope
  private readonly fileId: FileId

  /** `contentKey` is the file's 32-byte content key, `fileId` its 16-byte id. */
  constructor (contentKey: Uint8Array, fileId: FileId) {
    if (!isFileId(fileId)) throw new InvalidInputError(`a file id is ${FILE_ID_BYTES} bytes`)
    this.envelope = new AesGcmEnvelope(contentKey, OWNER_FORMAT_VERSION)
    this.fileId = Uint8Array.from(fileId)
  }

  /** The cipher of file `fileId` of the owner whose master secret is `master`. */
  static forFile (master: Uint8Array, fileId: FileId): OwnerChunkCipher {
    return OwnerChunkCipher.forReadRoot(readRoot(fileRoot(master, fileId)), fileId)
  }

  /** The cipher of file `fileId` from its read root alone, as a share code gives it. */
  static forReadRoot (read: Uint8Array, fileId: FileId): OwnerChunkCipher {
    return new OwnerChunkCipher(contentKey(read), fileId)
  }

  /** Chunk `index` of the file (`final` for its last chunk), sealed under a fresh nonce. */
  seal (index: number, final: boolean, plaintext: Uint8Array): Uint8Array {
    if (!(plaintext instanceof Uint8Array)) throw new InvalidInputError('a chunk is a Uint8Array')
    return this.envelope.seal(ownerChunkAad(this.fileId, index, final), plaintext)
  }

  /** The plaintext of chunk `index`; ChunkDecryptionError unless it was sealed at exactly this place. */
  open (index: number, final: boolean, sealed: Uint8Array): Uint8Array {
    const aad = ownerChunkAad(this.fileId, index, final)
    return this.envelope.open(aad, sealed, (reason, cause) =>
      new ChunkDecryptionError(`chunk ${index}${final ? ' (final)' : ''} of the file does not open: ${reason}`, { cause }))
  }
}

/** The AAD of chunk `index` of file `fileId`: exported for the spec's test vectors. */
export function ownerChunkAad (fileId: FileId, index: number, final: boolean): Uint8Array {
  if (!Number.isSafeInteger(index) || index < 0) throw new InvalidInputError(`a chunk index is a non-negative integer, got ${index}`)
  if (typeof final !== 'boolean') throw new InvalidInputError('final must be a boolean')
  const aad = new Uint8Array(AAD_BYTES)
  aad[0] = OWNER_FORMAT_VERSION
  aad.set(fileId, 1)
  new DataView(aad.buffer).setBigUint64(1 + FILE_ID_BYTES, BigInt(index))
  aad[AAD_BYTES - 1] = final ? 1 : 0
  return aad
}
