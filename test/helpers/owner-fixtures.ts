import { randomBytes } from 'node:crypto'
import { chunkIdOf } from '../../src/domain/formats/chunk-id.ts'
import { fileIdToString, newFileId } from '../../src/domain/formats/file-id.ts'
import type { Manifest } from '../../src/domain/formats/manifest.ts'
import { writeKeyOf } from '../../src/domain/capabilities/file-capabilities.ts'
import { PieceCodec, type PieceSignature } from '../../src/domain/formats/sealed-pieces.ts'

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'

/** A peer id in libp2p's text form (the shape only: 12D3KooW + 44 base58 characters). */
export function fakePeerId (): string {
  return '12D3KooW' + Array.from(randomBytes(44), (b) => BASE58[b % 58]).join('')
}

/** A valid chunk id (of random bytes). */
export function fakeChunkId (): string {
  return chunkIdOf(randomBytes(16))
}

export interface ManifestShape {
  size?: number
  chunkSize?: number
  holdersPerChunk?: number
  receipts?: boolean
  name?: string
  revision?: number
  fileId?: string
  /** Hex Ed25519 public key; a random key's by default (pass the sealing key's to seal). */
  writer?: string
}

/** A valid manifest of the given shape, with holders drawn from a pool of 20 peers. */
export function makeManifest (shape: ManifestShape = {}): Manifest {
  const size = shape.size ?? 2_500_000
  const chunkSize = shape.chunkSize ?? 1024 * 1024
  const count = Math.ceil(size / chunkSize)
  const pool = Array.from({ length: 20 }, fakePeerId)
  const chunks = Array.from({ length: count }, (_, i) => ({ id: fakeChunkId(), size: i < count - 1 ? chunkSize : size - (count - 1) * chunkSize }))
  const holders = chunks.map((_, i) => Array.from({ length: shape.holdersPerChunk ?? 3 }, (_, j) => pool[(i + j) % pool.length]!))
  const receipts = shape.receipts === false
    ? []
    : chunks.flatMap((chunk, i) => holders[i]!.map((peerId) => ({ peerId, chunkId: chunk.id, timeMs: 1_700_000_000_000 + i, signature: randomBytes(64).toString('base64') })))
  return {
    version: 2,
    fileId: shape.fileId ?? fileIdToString(newFileId()),
    revision: shape.revision ?? 1,
    name: shape.name ?? 'a.jpg',
    kind: 'file',
    size,
    mode: 0o644,
    mtimeMs: 1_700_000_000_123.456,
    chunkSize,
    chunks,
    holders,
    deleteCommitment: '7853200120776062878684798364095072458815029376092732009249414926327459813530',
    writer: shape.writer ?? Buffer.from(writeKeyOf(randomBytes(32)).publicKey).toString('hex'),
    receipts
  }
}

/**
 * `body` sealed into pieces under `key` and `aad` with no signature check: what anyone
 * holding a kind of value's key (a share-code holder, for a manifest) can produce.
 */
export function sealRawPieces (key: Uint8Array, aad: Uint8Array, body: Uint8Array, generation: number, signature?: PieceSignature): Uint8Array[] {
  const codec = new PieceCodec({
    key, aad, maxPieces: 512, undecryptable: (reason) => new Error(reason), invalid: (reason) => new Error(reason), ...(signature === undefined ? {} : { signature })
  })
  return codec.seal(body, generation)
}
