import { randomBytes } from 'node:crypto'
import { chunkIdOf } from '../../src/domain/formats/chunk-id.ts'
import { fileIdToString, newFileId } from '../../src/domain/formats/file-id.ts'
import type { Manifest } from '../../src/domain/formats/manifest.ts'

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
    version: 1,
    fileId: shape.fileId ?? fileIdToString(newFileId()),
    revision: shape.revision ?? 0,
    name: shape.name ?? 'photos/2024/a.jpg',
    kind: 'file',
    size,
    mode: 0o644,
    mtimeMs: 1_700_000_000_123.456,
    chunkSize,
    chunks,
    holders,
    receipts
  }
}
