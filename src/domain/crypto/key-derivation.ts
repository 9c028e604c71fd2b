import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { InvalidInputError } from '../../errors.ts'
import { FILE_ID_BYTES, isFileId } from '../formats/file-id.ts'
import { assertMasterSecret } from './master-secret.ts'

/**
 * Every key Quloud uses, derived with HKDF-SHA256 (RFC 5869) from one of four roots:
 * the owner master secret (master-secret.ts), a file's root F, a file's read root R
 * (both below), or the node's own 32-byte secret. The exact construction is protocol:
 * protocol-spec/key-derivation.md states it for other implementations and
 * test/vectors/key-derivation.json pins it.
 *
 *   okm = HKDF-SHA256(IKM = root, salt = empty, info = label || 0x00 || context, L)
 *
 * - Labels are ASCII, versioned (`quloud/v2/...`) and distinct, so no two uses can
 *   produce the same key; a future change of construction gets a new label.
 * - `context` is the 16-byte file id for the file root and empty otherwise; each label
 *   is used with one context shape, and labels contain no 0x00, so `info` is unambiguous.
 * - The salt is empty (HMAC key of 32 zero bytes) rather than the file id: the roots are
 *   uniformly random already, and a file id as salt would make file id 00..00 collide
 *   with the empty salt under HMAC's zero padding.
 *
 * Per file, three capabilities hang off F = fileRoot(master, fileId), which only the
 * owner holds, and they are apart because HKDF is one-way:
 * - read: the 16-byte read root R = readRoot(F), what a share code carries; the content
 *   key, the data retrieval secret, the manifest key and the manifest secret derive
 *   from R alone;
 * - write: an Ed25519 key (writeKeySeed(F)) that signs every manifest of the file;
 * - delete: the delete secret d = deleteSecret(F), whose commitment storage nodes keep
 *   beside the read commitment and demand a proof of before deleting.
 * Holding R therefore lets one fetch and read the file, never sign a manifest or
 * delete a chunk.
 */

export const LABELS = {
  fileRoot: 'quloud/v2/file-root',
  readRoot: 'quloud/v2/file/read-root',
  writeKey: 'quloud/v2/file/write-key',
  deleteSecret: 'quloud/v2/file/delete-secret',
  contentKey: 'quloud/v2/read/content-key',
  retrievalSecret: 'quloud/v2/read/retrieval-secret',
  manifestKey: 'quloud/v2/read/manifest-key',
  manifestSecret: 'quloud/v2/read/manifest-secret',
  catalogueKey: 'quloud/v2/catalogue-key',
  catalogueSecret: 'quloud/v2/catalogue-secret',
  catalogueDeleteSecret: 'quloud/v2/catalogue-delete-secret',
  catalogueWriteKey: 'quloud/v2/catalogue-write-key',
  batchRoot: 'quloud/v3/batch-root',
  batchReadSecret: 'quloud/v3/batch/read-secret',
  batchDeleteSecret: 'quloud/v3/batch/delete-secret',
  leaseSecret: 'quloud/v3/lease-secret',
  // unchanged since v1: a node's own at-rest key; a new label would shred its store
  nodeAtRestKey: 'quloud/v1/node-at-rest-key'
} as const

/** AES-256 keys, and Ed25519 seeds. */
export const KEY_BYTES = 32

/** A file root: the owner's secret every per-file capability derives from. */
export const FILE_ROOT_BYTES = 32

/**
 * A read root: 128 bits, the security level of AES-128 and of the SHA-256 pin beside
 * it in a share code, and half the length of a 32-byte root in the code people read out.
 */
export const READ_ROOT_BYTES = 16

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
const EMPTY = new Uint8Array(0)

/** The owner's root secret of one file; never leaves the owner. */
export function fileRoot (master: Uint8Array, fileId: Uint8Array): Uint8Array {
  return derive(assertMasterSecret(master), LABELS.fileRoot, checkFileId(fileId), FILE_ROOT_BYTES)
}

/** The read capability's secret R: it opens and proves for the file, nothing else. */
export function readRoot (root: Uint8Array): Uint8Array {
  return derive(checkFileRoot(root), LABELS.readRoot, EMPTY, READ_ROOT_BYTES)
}

/** The Ed25519 seed of the key that signs the file's manifests (write capability). */
export function writeKeySeed (root: Uint8Array): Uint8Array {
  return derive(checkFileRoot(root), LABELS.writeKey, EMPTY, KEY_BYTES)
}

/** The delete secret d: storage nodes delete the file's records only after a proof of it. */
export function deleteSecret (root: Uint8Array): bigint {
  return deriveScalar(checkFileRoot(root), LABELS.deleteSecret, EMPTY)
}

/** The AES-256-GCM key of the file's owner-layer chunks (owner-layer.ts). */
export function contentKey (read: Uint8Array): Uint8Array {
  return derive(checkReadRoot(read), LABELS.contentKey, EMPTY, KEY_BYTES)
}

/**
 * The retrieval secret `s` of the file's data chunks: a non-zero BN254 scalar whose
 * Poseidon hash is the read commitment stored beside every data chunk.
 */
export function retrievalSecret (read: Uint8Array): bigint {
  return deriveScalar(checkReadRoot(read), LABELS.retrievalSecret, EMPTY)
}

/**
 * The retrieval secret of the file's manifest pieces (manifest.ts). A commitment of its
 * own, not the data chunks' one, so that whoever holds R can list the manifest's pieces
 * apart from the (many) data chunks and read the manifest first.
 */
export function manifestSecret (read: Uint8Array): bigint {
  return deriveScalar(checkReadRoot(read), LABELS.manifestSecret, EMPTY)
}

/** The AES-256-GCM key of the file's manifest pieces. */
export function manifestKey (read: Uint8Array): Uint8Array {
  return derive(checkReadRoot(read), LABELS.manifestKey, EMPTY, KEY_BYTES)
}

/** The key of the owner's catalogue (their list of files, with each file's id and manifest). */
export function catalogueKey (master: Uint8Array): Uint8Array {
  return derive(assertMasterSecret(master), LABELS.catalogueKey, EMPTY, KEY_BYTES)
}

/** The retrieval secret of the catalogue's chunks: recoverable from the phrase alone. */
export function catalogueSecret (master: Uint8Array): bigint {
  return deriveScalar(assertMasterSecret(master), LABELS.catalogueSecret, EMPTY)
}

/** The delete secret of the catalogue's chunks. */
export function catalogueDeleteSecret (master: Uint8Array): bigint {
  return deriveScalar(assertMasterSecret(master), LABELS.catalogueDeleteSecret, EMPTY)
}

/** The Ed25519 seed of the key that signs every catalogue generation. */
export function catalogueWriteKeySeed (master: Uint8Array): Uint8Array {
  return derive(assertMasterSecret(master), LABELS.catalogueWriteKey, EMPTY, KEY_BYTES)
}

/**
 * The owner's root of one batch (the small files of one `put`, batches.ts), from the
 * master secret and the batch's 16-byte id. The batch's data chunks share one read
 * commitment and all its records one delete commitment, so one proof per holder opens
 * them all; each file keeps its own read root R, content key and write key.
 */
export function batchRoot (master: Uint8Array, batchId: Uint8Array): Uint8Array {
  return derive(assertMasterSecret(master), LABELS.batchRoot, checkFileId(batchId), FILE_ROOT_BYTES)
}

/** The retrieval secret of every data chunk of a batch; each manifest of the batch carries it for its readers. */
export function batchReadSecret (root: Uint8Array): bigint {
  return deriveScalar(checkFileRoot(root), LABELS.batchReadSecret, EMPTY)
}

/** The delete secret of every record of a batch (data chunks and manifest pieces); owner only. */
export function batchDeleteSecret (root: Uint8Array): bigint {
  return deriveScalar(checkFileRoot(root), LABELS.batchDeleteSecret, EMPTY)
}

/**
 * The owner's lease secret l (protocol-spec/leases.md, "Lease commitments"): every
 * record the owner stores carries L = Poseidon(l), so one proof per holder renews them
 * all. It renews and never deletes; from the master secret, so a recovered owner keeps it.
 */
export function leaseSecret (master: Uint8Array): bigint {
  return deriveScalar(assertMasterSecret(master), LABELS.leaseSecret, EMPTY)
}

/** The key a storage node encrypts chunks at rest with; losing it shreds them. */
export function nodeAtRestKey (nodeSecret: Uint8Array): Uint8Array {
  if (!(nodeSecret instanceof Uint8Array) || nodeSecret.byteLength !== NODE_SECRET_BYTES) {
    throw new InvalidInputError(`a node secret is ${NODE_SECRET_BYTES} bytes`)
  }
  return derive(nodeSecret, LABELS.nodeAtRestKey, EMPTY, KEY_BYTES)
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

/** Throws InvalidInputError unless `read` is a 16-byte read root; returns it for chaining. */
export function checkReadRoot (read: Uint8Array): Uint8Array {
  if (!(read instanceof Uint8Array) || read.byteLength !== READ_ROOT_BYTES) {
    throw new InvalidInputError(`a read root is ${READ_ROOT_BYTES} bytes`)
  }
  return read
}

function checkFileId (fileId: Uint8Array): Uint8Array {
  if (!isFileId(fileId)) {
    throw new InvalidInputError(`a file id is ${FILE_ID_BYTES} bytes`)
  }
  return fileId
}
