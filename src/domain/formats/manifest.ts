import { defineError } from '../../errors.ts'
import type { ChunkId } from './chunk-id.ts'
import { fileIdToString, type FileId } from './file-id.ts'
import { manifestKey } from '../crypto/key-derivation.ts'
import { checkReadCapability, pinMatches, type ReadCapability, type WriteKey } from '../capabilities/file-capabilities.ts'
import { signBody } from '../capabilities/signed-body.ts'
import { openPinnedDocument } from '../capabilities/pinned-document.ts'
import { PieceCodec, type Edition } from './sealed-pieces.ts'
import type { ErasureScheme } from './stripe-layout.ts'
import { fromWire, InvalidManifestError, MANIFEST_VERSION, toWire } from './manifest-wire.ts'

/**
 * A file's manifest: everything needed to get the file back from the federation, and
 * nothing more than a holder of the file's read capability (owner or share-code
 * recipient) should learn: its name, not the owner's path. protocol-spec/manifests-and-catalogue.md
 * is normative; in short the encoded form is UTF-8 JSON with a peer table
 * (peer-table.ts) and chunk sizes left implicit (they follow from `size` and
 * `chunkSize`), signed by the file's write key (signed-body.ts) and stored as pieces
 * sealed with the manifest key (sealed-pieces.ts) under the manifest commitment.
 *
 * A reader accepts a manifest only when its signature verifies under the key it names
 * in `writer` and that key is the one the reader's capability pins: whoever can seal a
 * piece (every share-code holder can) still cannot make a revision the owner did not sign.
 */

export interface ManifestChunk {
  /** Id of the owner-layer ciphertext (chunk-id.ts). */
  id: ChunkId
  /** Plaintext bytes of the chunk: `chunkSize`, except the last (1..chunkSize). */
  size: number
}

/** A storage node's signed 'stored' receipt (receipt.ts) for the file's read and delete commitments. */
export interface ManifestReceipt {
  peerId: string
  chunkId: ChunkId
  timeMs: number
  /** Signature bytes, canonical padded base64. */
  signature: string
}

export interface Manifest {
  /** 2: whole chunks, each on its holders; 3: erasure-coded stripes (`erasure`); 4: 3 with `roots`. */
  version: 2 | 3 | 4
  /** 32 lowercase hex digits. */
  fileId: string
  /** 1 when first written, bumped when the manifest is rewritten; the highest signed one wins. */
  revision: number
  /** The file's name: one path segment (relative-path.ts), never the owner's directories. */
  name: string
  kind: 'file'
  size: number
  /** Permission bits, 0..0o7777. */
  mode: number
  mtimeMs: number
  /** Version 3: the shard size (every shard has this many plaintext bytes). */
  chunkSize: number
  /** Version 3: every shard, stripe by stripe, each stripe's k data shards then its m parity shards. */
  chunks: ManifestChunk[]
  /** Per chunk (shard) index, the peer ids holding it (distinct; empty when lost). */
  holders: string[][]
  /** Versions 3 and 4: the scheme of every stripe. */
  erasure?: ErasureScheme
  /**
   * Version 4 only: per chunk (shard) index, the Merkle root (merkle-tree.ts, 64 lowercase
   * hex digits) of its sealed bytes, which audits check sampled leaves against.
   */
  roots?: string[]
  /** Decimal commitment to the file's delete secret, as the receipts sign it. */
  deleteCommitment: string
  /** 64 lowercase hex digits: the Ed25519 public key that signs this file's manifests. */
  writer: string
  receipts: ManifestReceipt[]
  /**
   * Version 2, optional: decimal retrieval secret of the data chunks when the file is in
   * a batch (batches.ts); without it they are under retrievalSecret(R). Whoever can read
   * the manifest can then fetch the batch's other chunks too, as ciphertext under keys
   * they do not have.
   */
  dataSecret?: string
}


export { AUDITED_MANIFEST_VERSION, ERASURE_MANIFEST_VERSION, InvalidManifestError, MANIFEST_VERSION, MAX_HOLDERS_PER_CHUNK, MAX_SIGNATURE_BYTES } from './manifest-wire.ts'

/** A manifest piece does not open under this file's manifest key. */
export const ManifestDecryptionError = defineError('ManifestDecryptionError', 'manifest-decryption')
export type ManifestDecryptionError = InstanceType<typeof ManifestDecryptionError>

/** The manifest does not carry a valid signature by the key the capability pins. */
export const ManifestSignatureError = defineError('ManifestSignatureError', 'manifest-signature')
export type ManifestSignatureError = InstanceType<typeof ManifestSignatureError>

/** 512 pieces of ~1 MiB; V8 strings stop near 512 MiB anyway. */
export const MAX_MANIFEST_PIECES = 512

const PIECE_LABEL = 'quloud/v2/manifest-piece'
/** What the write key signs each piece of a manifest or tree listing under (sealed-pieces.ts). */
export const PIECE_SIGNATURE_LABEL = 'quloud/v2/shared-piece'
/** What the write key signs a manifest under (signed-body.ts). */
export const MANIFEST_SIGNATURE_LABEL = 'quloud/v2/manifest'
const utf8 = new TextEncoder()
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** The manifest as bytes; InvalidManifestError when it is not valid (encode never writes what decode refuses). */
export function encodeManifest (manifest: Manifest): Uint8Array {
  return utf8.encode(JSON.stringify(toWire(manifest)))
}

/** The manifest `bytes` encode, checked strictly; InvalidManifestError otherwise. */
export function decodeManifest (bytes: Uint8Array): Manifest {
  let wire: unknown
  try {
    wire = JSON.parse(strictUtf8.decode(bytes))
  } catch (err) {
    throw new InvalidManifestError('invalid manifest: not UTF-8 JSON', { cause: err })
  }
  return fromWire(wire)
}

/** `manifest` when it is valid, as a fresh copy; InvalidManifestError otherwise. */
export function validateManifest (manifest: Manifest): Manifest {
  return fromWire(toWire(manifest))
}

/**
 * The manifest signed with the file's write key and sealed into pieces (at least one)
 * under the capability's manifest key, ready to store. The manifest must name that key
 * as its `writer`.
 */
export function sealManifest (manifest: Manifest, read: ReadCapability, write: WriteKey, options?: { random?: (n: number) => Uint8Array }): Uint8Array[] {
  if (manifest.writer !== Buffer.from(write.publicKey).toString('hex')) throw new InvalidManifestError('invalid manifest: writer is not the signing key')
  if (!pinMatches(checkReadCapability(read).writerPin, write.publicKey)) throw new InvalidManifestError('invalid manifest: the capability pins another write key')
  const body = signBody(MANIFEST_SIGNATURE_LABEL, write, encodeManifest(manifest))
  return codecFor(read, write).seal(body, manifest.revision, options?.random)
}

/**
 * The manifest that `pieces` (one sealing, any order, repeats allowed) hold, signed by
 * the key `read` pins, and of file `fileId` when given. ManifestDecryptionError when a
 * piece does not open (another file, key or kind of value, tampered);
 * ManifestSignatureError when the signature does not verify or the key is not the
 * pinned one; InvalidManifestError when they are not one complete manifest of this file.
 */
export function openManifest (pieces: Uint8Array[], read: ReadCapability, fileId?: FileId): Manifest {
  return manifestOf(codecFor(read).openEdition(pieces), read, fileId)
}

/**
 * The newest signed manifest (highest revision) among `pieces` fetched from holders,
 * which may mix revisions and hold strays and forgeries; undefined when no complete,
 * validly signed manifest is there. Unsigned or wrongly signed editions never win,
 * whatever revision they claim.
 */
export function newestManifest (pieces: Uint8Array[], read: ReadCapability, fileId?: FileId): Manifest | undefined {
  let best: { manifest: Manifest, edition: string } | undefined
  for (const edition of codecFor(read).openEditions(pieces)) {
    let manifest: Manifest
    try {
      manifest = manifestOf(edition, read, fileId)
    } catch {
      continue
    }
    // equal revisions: the same manifest sealed twice; the smallest edition, as for catalogues
    if (best === undefined || manifest.revision > best.manifest.revision ||
        (manifest.revision === best.manifest.revision && edition.edition < best.edition)) {
      best = { manifest, edition: edition.edition }
    }
  }
  return best?.manifest
}

/** The AAD of every manifest piece: version, label. The key is the file's own already. */
export function manifestPieceAad (): Uint8Array {
  return Uint8Array.from([MANIFEST_VERSION, ...utf8.encode(PIECE_LABEL), 0])
}

/**
 * The piece codec of everything stored under a read capability's manifest commitment:
 * a file's manifests, or a shared tree's listing (tree-listing.ts).
 */
export function sharedPieceCodec (read: ReadCapability, write?: WriteKey): PieceCodec {
  return codecFor(read, write)
}

/**
 * Pieces signed one by one by the pinned writer, so that a reader drops anyone else's
 * the moment they arrive (sealed-pieces.ts); `write` is needed to seal only.
 */
function codecFor (read: ReadCapability, write?: WriteKey): PieceCodec {
  return new PieceCodec({
    signature: {
      label: PIECE_SIGNATURE_LABEL,
      ...(write === undefined ? {} : { writer: write }),
      accept: (key) => pinMatches(read.writerPin, key),
      refuse: (reason) => new ManifestSignatureError(`refused: ${reason}`)
    },
    key: manifestKey(checkReadCapability(read).readRoot),
    aad: manifestPieceAad(),
    maxPieces: MAX_MANIFEST_PIECES,
    undecryptable: (reason, cause) => new ManifestDecryptionError(`a manifest piece does not open: ${reason}`, { cause }),
    invalid: (reason) => new InvalidManifestError(`invalid manifest pieces: ${reason}`)
  })
}

function manifestOf (edition: Edition, read: ReadCapability, fileId?: FileId): Manifest {
  const manifest = openPinnedDocument(edition.body, read, MANIFEST_SIGNATURE_LABEL, decodeManifest, (reason) => new ManifestSignatureError(`the manifest is refused: ${reason}`))
  if (fileId !== undefined && manifest.fileId !== fileIdToString(fileId)) throw new InvalidManifestError('the manifest is of another file')
  if (manifest.revision !== edition.generation) throw new InvalidManifestError('the manifest revision differs from its pieces\'')
  return manifest
}
