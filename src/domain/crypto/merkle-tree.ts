import { sha256 } from '@noble/hashes/sha2.js'

/**
 * The Merkle tree of a stored piece, for audits (protocol-spec/audits-and-repair.md):
 * RFC 9162's tree (§2.1.1) over the piece's bytes cut in leaves of MERKLE_LEAF_BYTES
 * (the last one shorter; an empty piece is one empty leaf), with SHA-256:
 *
 *     leaf  = SHA-256(0x00 || bytes)        node = SHA-256(0x01 || left || right)
 *
 * and RFC 9162's inclusion proofs (§2.1.3): the sibling hashes from the leaf up, a lone
 * last node at a level having none. The root goes in the manifest; an audit asks for a
 * few leaves and their paths, so a holder answers from the data itself, for a few KiB.
 *
 * `hash` is SHA-256; a caller on a hot path passes a faster implementation of it.
 */

/** Bytes per leaf: a few leaves are a few KiB on the wire, and a 1 MiB shard has 257 (sealed). */
export const MERKLE_LEAF_BYTES = 4096
export const MERKLE_HASH_BYTES = 32

export type Sha256 = (data: Uint8Array) => Uint8Array

const nobleSha256: Sha256 = (data) => sha256(data)

/** Leaves of a piece of `length` bytes. */
export function leafCount (length: number): number {
  return Math.max(1, Math.ceil(length / MERKLE_LEAF_BYTES))
}

/** Leaf `index` of `piece`. */
export function leafOf (piece: Uint8Array, index: number): Uint8Array {
  return piece.subarray(index * MERKLE_LEAF_BYTES, Math.min(piece.byteLength, (index + 1) * MERKLE_LEAF_BYTES))
}

export function leafHash (leaf: Uint8Array, hash: Sha256 = nobleSha256): Uint8Array {
  return hash(prefixed(0x00, leaf))
}

function nodeHash (left: Uint8Array, right: Uint8Array, hash: Sha256): Uint8Array {
  const bytes = new Uint8Array(1 + left.byteLength + right.byteLength)
  bytes[0] = 0x01
  bytes.set(left, 1)
  bytes.set(right, 1 + left.byteLength)
  return hash(bytes)
}

/**
 * Every level of the tree of `piece`, leaves first, root last. Building bottom-up with
 * a lone last node carried up unchanged gives RFC 9162's tree, whose left subtree is the
 * largest power of two.
 */
export function merkleLevels (piece: Uint8Array, hash: Sha256 = nobleSha256): Uint8Array[][] {
  const levels: Uint8Array[][] = [Array.from({ length: leafCount(piece.byteLength) }, (_, i) => leafHash(leafOf(piece, i), hash))]
  for (let level = levels[0]!; level.length > 1; level = levels.at(-1)!) {
    const up: Uint8Array[] = []
    for (let i = 0; i < level.length; i += 2) up.push(i + 1 < level.length ? nodeHash(level[i]!, level[i + 1]!, hash) : level[i]!)
    levels.push(up)
  }
  return levels
}

export function merkleRoot (piece: Uint8Array, hash: Sha256 = nobleSha256): Uint8Array {
  return merkleLevels(piece, hash).at(-1)![0]!
}

/** The inclusion path of leaf `index` in the tree `levels` (merkleLevels), leaf side first. */
export function inclusionPath (levels: Uint8Array[][], index: number): Uint8Array[] {
  const path: Uint8Array[] = []
  let i = index
  for (const level of levels.slice(0, -1)) {
    const sibling = i ^ 1
    if (sibling < level.length) path.push(level[sibling]!)
    i >>= 1
  }
  return path
}

/**
 * Whether `leaf` is leaf `index` of the tree of `count` leaves whose root is `root`,
 * by `path` (RFC 9162 §2.1.3.2, step by step). A path of the wrong length fails.
 */
export function verifyInclusion (root: Uint8Array, count: number, index: number, leaf: Uint8Array, path: readonly Uint8Array[], hash: Sha256 = nobleSha256): boolean {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(count) || index < 0 || index >= count) return false
  if (leaf.byteLength > MERKLE_LEAF_BYTES) return false
  let fn = index
  let sn = count - 1
  let r = leafHash(leaf, hash)
  for (const p of path) {
    if (sn === 0 || p.byteLength !== MERKLE_HASH_BYTES) return false
    if ((fn & 1) === 1 || fn === sn) {
      r = nodeHash(p, r, hash)
      while ((fn & 1) === 0 && fn !== 0) {
        fn >>= 1
        sn >>= 1
      }
    } else {
      r = nodeHash(r, p, hash)
    }
    fn >>= 1
    sn >>= 1
  }
  return sn === 0 && equal(r, root)
}

function prefixed (byte: number, data: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(1 + data.byteLength)
  bytes[0] = byte
  bytes.set(data, 1)
  return bytes
}

function equal (a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  let diff = 0
  for (let i = 0; i < a.byteLength; i++) diff |= a[i]! ^ b[i]!
  return diff === 0
}
