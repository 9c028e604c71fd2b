import { sha256 } from '@noble/hashes/sha2.js'
import { InvalidInputError } from '../../errors.ts'
import { ed25519Engine } from './ed25519.ts'
import { deleteSecret, fileRoot, readRoot, writeKeySeed, checkReadRoot } from '../crypto/key-derivation.ts'
import type { FileId } from '../formats/file-id.ts'

/**
 * The three capabilities of one file, apart (protocol-spec/key-derivation.md,
 * "Capabilities"), in the spirit of Tahoe-LAFS's read and write caps:
 *
 * - read: what a share code carries. The read root R opens the manifest and the chunks
 *   and proves the read commitment; the writer pin names the only key whose signature
 *   on a manifest the reader accepts, so a reader can neither forge a new revision nor
 *   be fooled by someone who did.
 * - write: the Ed25519 key that signs the manifests; derived from F, not from R.
 * - delete: the secret whose commitment storage nodes keep with every record of the
 *   file and demand a proof of before deleting; derived from F, never in a share code.
 */

/** Bytes of the writer pin: 128-bit second-preimage resistance, like R's 128 bits. */
export const WRITER_PIN_BYTES = 16
export const WRITER_KEY_BYTES = 32

const PIN_LABEL = 'quloud/v2/writer-pin'
const utf8 = new TextEncoder()

export interface ReadCapability {
  /** 16 bytes: the read root R. */
  readRoot: Uint8Array
  /** 16 bytes: the pin of the manifest signing key (writerPinOf). */
  writerPin: Uint8Array
}

export interface WriteKey {
  /** Ed25519 seed (private). */
  seed: Uint8Array
  /** Ed25519 public key, 32 bytes. */
  publicKey: Uint8Array
}

export interface OwnerFileCapabilities {
  read: ReadCapability
  write: WriteKey
  /** The delete secret d (a BN254 scalar). */
  deleteSecret: bigint
}

/**
 * Every capability of file `fileId` of the owner of `master`. The write key, its pin
 * and the delete secret are derived when first read: a put of a batched file needs only
 * R (its chunks' key) and signs nothing, and the Ed25519 key was a tenth of its CPU.
 */
export function ownerFileCapabilities (master: Uint8Array, fileId: FileId): OwnerFileCapabilities {
  const root = fileRoot(master, fileId)
  let write: WriteKey | undefined
  let pin: Uint8Array | undefined
  let secret: bigint | undefined
  const writeKey = (): WriteKey => (write ??= writeKeyOf(writeKeySeed(root)))
  return {
    read: { readRoot: readRoot(root), get writerPin () { return (pin ??= writerPinOf(writeKey().publicKey)) } },
    get write () { return writeKey() },
    get deleteSecret () { return (secret ??= deleteSecret(root)) }
  }
}

/** The key pair of an Ed25519 seed. */
export function writeKeyOf (seed: Uint8Array): WriteKey {
  return { seed, publicKey: ed25519Engine().publicKey(seed) }
}

/** SHA-256(ASCII("quloud/v2/writer-pin") || 0x00 || public key), first 16 bytes. */
export function writerPinOf (publicKey: Uint8Array): Uint8Array {
  if (!(publicKey instanceof Uint8Array) || publicKey.byteLength !== WRITER_KEY_BYTES) {
    throw new InvalidInputError(`a writer key is ${WRITER_KEY_BYTES} bytes`)
  }
  return sha256(Uint8Array.from([...utf8.encode(PIN_LABEL), 0, ...publicKey])).subarray(0, WRITER_PIN_BYTES)
}

/** Throws InvalidInputError unless `cap` is a well-formed read capability; returns it. */
export function checkReadCapability (cap: ReadCapability): ReadCapability {
  checkReadRoot(cap?.readRoot)
  if (!(cap.writerPin instanceof Uint8Array) || cap.writerPin.byteLength !== WRITER_PIN_BYTES) {
    throw new InvalidInputError(`a writer pin is ${WRITER_PIN_BYTES} bytes`)
  }
  return cap
}

/** Whether `publicKey` is the key `pin` names (constant-time is not needed: both are public). */
export function pinMatches (pin: Uint8Array, publicKey: Uint8Array): boolean {
  return Buffer.from(writerPinOf(publicKey)).equals(Buffer.from(pin))
}
