import { createHash } from 'node:crypto'
import { merkleRoot, type Sha256 } from '../../domain/crypto/merkle-tree.ts'

/** node:crypto's SHA-256, ~8x @noble/hashes' here: a put hashes every sealed byte once more. */
export const nodeSha256: Sha256 = (data) => createHash('sha256').update(data).digest()

/** The Merkle root of a sealed piece as a version 4 manifest carries it (64 lowercase hex digits). */
export function pieceRoot (sealed: Uint8Array): string {
  return Buffer.from(merkleRoot(sealed, nodeSha256)).toString('hex')
}
