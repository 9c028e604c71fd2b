import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { InvalidInputError } from '../../errors.ts'
import { FILE_ID_BYTES, isFileId } from '../formats/file-id.ts'
import { assertMasterSecret } from './master-secret.ts'

/**
 * Every key Quloud uses, derived with HKDF-SHA256 (RFC 5869) from one of three roots:
 * the owner master secret (master-secret.ts), a file's root secret (below), or the
 * node's own 32-byte secret. The exact construction is protocol:
 * protocol-spec/key-derivation.md states it for other implementations and
 * test/vectors/key-derivation.json pins it.
 *
 *   okm = HKDF-SHA256(IKM = root, salt = empty, info = label || 0x00 || context, L)
 *
 * - Labels are ASCII, versioned (`quloud/v1/...`) and distinct, so no two uses can
 *   produce the same key; a future change of construction gets a new label.
 * - `context` is the 16-byte file id for the file root and empty otherwise; each label
 *   is used with one context shape, and labels contain no 0x00, so `info` is unambiguous.
 * - The salt is empty (HMAC key of 32 zero bytes) rather than the file id: the roots are
 *   uniformly random already, and a file id as salt would make file id 00..00 collide
 *   with the empty salt under HMAC's zero padding.
 *
 * Per file, everything hangs off one 32-byte file root F = fileRoot(master, fileId):
 * the content key, the retrieval secret, the manifest key and the manifest secret. A
 * share code carries F and the file id (share-code.ts), so whoever receives it can
 * fetch and open that one file and nothing else: F reveals neither the master secret
 * (HKDF is one-way) nor any other file's root.
 */

export const LABELS = {
  fileRoot: 'quloud/v1/file-root',
  fileContentKey: 'quloud/v1/file/content-key',
  fileRetrievalSecret: 'quloud/v1/file/retrieval-secret',
  manifestKey: 'quloud/v1/file/manifest-key',
  manifestSecret: 'quloud/v1/file/manifest-secret',
  catalogueKey: 'quloud/v1/catalogue-key',
  catalogueSecret: 'quloud/v1/catalogue-secret',
  nodeAtRestKey: 'quloud/v1/node-at-rest-key'
} as const

/** AES-256 keys. */
export const KEY_BYTES = 32

/** A file root: the one secret every per-file value derives from. */
export const FILE_ROOT_BYTES = 32

/** The node's own secret (data dir `node.secret`), independent of any owner. */
export const NODE_SECRET_BYTES = 32

/** Order of the BN254 scalar field, the field of the ownership circuit's signals. */
export const BN254_R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n

/**
 * Bytes of HKDF output reduced to one scalar: 512 bits mod a 254-bit r leaves a bias
 * below 2^-258, so the scalar is uniform for every practical purpose.
 */
export const SCALAR_OKM_BYTES = 64

/** Tries before giving up on a non-zero scalar; each fails with probability ~2^-254. */
const SCALAR_ATTEMPTS = 256

const encoder = new TextEncoder()

/**
 * The root secret F of one file: every per-file key and secret derives from it alone
 * (the `...FromRoot` functions), so handing F and the file id to someone shares that
 * file and nothing else.
 */
export function fileRoot (master: Uint8Array, fileId: Uint8Array): Uint8Array {
  return derive(assertMasterSecret(master), LABELS.fileRoot, checkFileId(fileId), FILE_ROOT_BYTES)
}

/** The AES-256-GCM key of the file's owner-layer chunks (owner-layer.ts). */
export function fileContentKeyFromRoot (root: Uint8Array): Uint8Array {
  return derive(checkFileRoot(root), LABELS.fileContentKey, new Uint8Array(0), KEY_BYTES)
}

/**
 * The retrieval secret `s` of the file's data chunks: a non-zero BN254 scalar whose
 * Poseidon hash is the commitment stored beside every data chunk (ownership proof).
 */
export function fileRetrievalSecretFromRoot (root: Uint8Array): bigint {
  return deriveScalar(checkFileRoot(root), LABELS.fileRetrievalSecret, new Uint8Array(0))
}

/**
 * The retrieval secret of the file's manifest pieces (manifest.ts). A commitment of its
 * own, not the data chunks' one, so that whoever holds F can list the manifest's pieces
 * apart from the (many) data chunks and read the manifest first.
 */
export function manifestSecretFromRoot (root: Uint8Array): bigint {
  return deriveScalar(checkFileRoot(root), LABELS.manifestSecret, new Uint8Array(0))
}

/** The AES-256-GCM key of the file's manifest pieces. */
export function manifestKeyFromRoot (root: Uint8Array): Uint8Array {
  return derive(checkFileRoot(root), LABELS.manifestKey, new Uint8Array(0), KEY_BYTES)
}

/** `fileContentKeyFromRoot(fileRoot(master, fileId))`. */
export function fileContentKey (master: Uint8Array, fileId: Uint8Array): Uint8Array {
  return fileContentKeyFromRoot(fileRoot(master, fileId))
}

/** `fileRetrievalSecretFromRoot(fileRoot(master, fileId))`. */
export function fileRetrievalSecret (master: Uint8Array, fileId: Uint8Array): bigint {
  return fileRetrievalSecretFromRoot(fileRoot(master, fileId))
}

/** The key of the owner's catalogue (their list of files, with each file's id and manifest). */
export function catalogueKey (master: Uint8Array): Uint8Array {
  return derive(assertMasterSecret(master), LABELS.catalogueKey, new Uint8Array(0), KEY_BYTES)
}

/** The retrieval secret of the catalogue's chunks: recoverable from the phrase alone. */
export function catalogueSecret (master: Uint8Array): bigint {
  return deriveScalar(assertMasterSecret(master), LABELS.catalogueSecret, new Uint8Array(0))
}

/** The key a storage node encrypts chunks at rest with; losing it shreds them. */
export function nodeAtRestKey (nodeSecret: Uint8Array): Uint8Array {
  if (!(nodeSecret instanceof Uint8Array) || nodeSecret.byteLength !== NODE_SECRET_BYTES) {
    throw new InvalidInputError(`a node secret is ${NODE_SECRET_BYTES} bytes`)
  }
  return derive(nodeSecret, LABELS.nodeAtRestKey, new Uint8Array(0), KEY_BYTES)
}

/** `label || 0x00 || context`, the HKDF info of every derivation. */
export function infoOf (label: string, context: Uint8Array): Uint8Array {
  const prefix = encoder.encode(label)
  const info = new Uint8Array(prefix.byteLength + 1 + context.byteLength)
  info.set(prefix, 0)
  info.set(context, prefix.byteLength + 1)
  return info
}

function derive (root: Uint8Array, label: string, context: Uint8Array, length: number): Uint8Array {
  return hkdf(sha256, root, undefined, infoOf(label, context), length)
}

/**
 * A non-zero scalar mod BN254_R: attempt `i` (from 0) uses context `context || i` (one
 * byte) and takes 64 bytes of output as a big-endian integer mod r; the first non-zero
 * result wins. Zero is excluded because Poseidon(0) is a well-known value and a secret
 * of 0 would be guessable.
 */
function deriveScalar (root: Uint8Array, label: string, context: Uint8Array): bigint {
  return firstNonZeroScalar((attempt) => {
    const withCounter = new Uint8Array(context.byteLength + 1)
    withCounter.set(context, 0)
    withCounter[context.byteLength] = attempt
    return derive(root, label, withCounter, SCALAR_OKM_BYTES)
  })
}

/** The retry loop of deriveScalar, separate so tests can feed it a zero. */
export function firstNonZeroScalar (okmOf: (attempt: number) => Uint8Array): bigint {
  for (let attempt = 0; attempt < SCALAR_ATTEMPTS; attempt++) {
    const scalar = bytesToBigInt(okmOf(attempt)) % BN254_R
    if (scalar !== 0n) return scalar
  }
  // unreachable in practice: 256 consecutive zeros have probability ~2^-65000
  throw new Error('no non-zero scalar after 256 attempts')
}

export function bytesToBigInt (bytes: Uint8Array): bigint {
  return bytes.byteLength === 0 ? 0n : BigInt('0x' + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex'))
}

/** Throws InvalidInputError unless `root` is a 32-byte file root; returns it for chaining. */
export function checkFileRoot (root: Uint8Array): Uint8Array {
  if (!(root instanceof Uint8Array) || root.byteLength !== FILE_ROOT_BYTES) {
    throw new InvalidInputError(`a file root is ${FILE_ROOT_BYTES} bytes`)
  }
  return root
}

function checkFileId (fileId: Uint8Array): Uint8Array {
  if (!isFileId(fileId)) {
    throw new InvalidInputError(`a file id is ${FILE_ID_BYTES} bytes`)
  }
  return fileId
}
