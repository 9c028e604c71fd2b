import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { inclusionPath, leafCount, leafOf, MERKLE_LEAF_BYTES, merkleLevels, merkleRoot, verifyInclusion } from '../src/domain/crypto/merkle-tree.ts'

const sha = (...parts: Uint8Array[]): Uint8Array => new Uint8Array(createHash('sha256').update(Buffer.concat(parts)).digest())

/** RFC 9162 §2.1.1 as written: MTH by the largest power of two below n, recursively. */
function referenceRoot (leaves: Uint8Array[]): Uint8Array {
  if (leaves.length === 1) return sha(Uint8Array.of(0), leaves[0]!)
  let k = 1
  while (k * 2 < leaves.length) k *= 2
  return sha(Uint8Array.of(1), referenceRoot(leaves.slice(0, k)), referenceRoot(leaves.slice(k)))
}

/** RFC 9162 §2.1.3.1 PATH(m, D[n]) as written. */
function referencePath (m: number, leaves: Uint8Array[]): Uint8Array[] {
  if (leaves.length === 1) return []
  let k = 1
  while (k * 2 < leaves.length) k *= 2
  return m < k
    ? [...referencePath(m, leaves.slice(0, k)), referenceRoot(leaves.slice(k))]
    : [...referencePath(m - k, leaves.slice(k)), referenceRoot(leaves.slice(0, k))]
}

const leavesOf = (piece: Uint8Array): Uint8Array[] => Array.from({ length: leafCount(piece.byteLength) }, (_, i) => leafOf(piece, i))

describe('Merkle trees of stored pieces (RFC 9162)', () => {
  it('match the recursive definition, root and every path, for every leaf count up to 20 and a sealed 1 MiB shard', () => {
    const sizes = [0, 1, ...Array.from({ length: 20 }, (_, i) => (i + 1) * MERKLE_LEAF_BYTES - 7), 1024 * 1024 + 29]
    for (const size of sizes) {
      const piece = randomBytes(size)
      const leaves = leavesOf(piece)
      const levels = merkleLevels(piece)
      assert.deepEqual(merkleRoot(piece), referenceRoot(leaves), `root of ${size} bytes`)
      for (let m = 0; m < leaves.length; m += size > 100_000 ? 37 : 1) {
        assert.deepEqual(inclusionPath(levels, m), referencePath(m, leaves), `path ${m} of ${leaves.length}`)
        assert.ok(verifyInclusion(merkleRoot(piece), leaves.length, m, leaves[m]!, inclusionPath(levels, m)))
      }
    }
  })

  it('an empty piece is one empty leaf, as RFC 9162 hashes the empty string', () => {
    assert.deepEqual(merkleRoot(new Uint8Array(0)), sha(Uint8Array.of(0)))
  })

  it('refuses a changed leaf, another index, a wrong count, a short, long or altered path, a leaf too long', () => {
    const piece = randomBytes(11 * MERKLE_LEAF_BYTES + 5)
    const levels = merkleLevels(piece)
    const root = merkleRoot(piece)
    const n = leafCount(piece.byteLength)
    const m = 6
    const leaf = leafOf(piece, m)
    const path = inclusionPath(levels, m)
    assert.ok(verifyInclusion(root, n, m, leaf, path))
    const flipped = Uint8Array.from(leaf)
    flipped[0]! ^= 1
    assert.equal(verifyInclusion(root, n, m, flipped, path), false)
    assert.equal(verifyInclusion(root, n, m + 1, leaf, path), false)
    assert.equal(verifyInclusion(root, n + 5, m, leaf, path), false)
    assert.equal(verifyInclusion(root, n, n, leaf, path), false)
    assert.equal(verifyInclusion(root, n, -1, leaf, path), false)
    assert.equal(verifyInclusion(root, n, m, leaf, path.slice(1)), false)
    assert.equal(verifyInclusion(root, n, m, leaf, [...path, path[0]!]), false)
    assert.equal(verifyInclusion(root, n, m, leaf, path.map((p, i) => i === 2 ? sha(p) : p)), false)
    assert.equal(verifyInclusion(root, n, m, leaf, path.map((p, i) => i === 0 ? p.subarray(1) : p)), false)
    assert.equal(verifyInclusion(root, n, m, new Uint8Array(MERKLE_LEAF_BYTES + 1), path), false)
    // the root of the leaves alone (a holder keeping hashes, not bytes) proves nothing without the leaf
    assert.equal(verifyInclusion(root, n, m, levels[0]![m]!, path), false)
  })
})
