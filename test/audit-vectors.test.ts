import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { verifyInclusion } from '../src/domain/crypto/merkle-tree.ts'
import { decodeManifest, encodeManifest, InvalidManifestError, type Manifest } from '../src/domain/formats/manifest.ts'

interface Tree { root: string, leafCount: number, proofs: Array<{ index: number, leaf: string, path: string[] }> }
const vectors = JSON.parse(readFileSync(new URL('./vectors/audits.json', import.meta.url), 'utf8')) as {
  manifest: { document: string, value: Manifest }
  shard: Tree & { index: number, sealed: string }
  large: Tree
}
const erasure = JSON.parse(readFileSync(new URL('./vectors/erasure.json', import.meta.url), 'utf8')) as { file: { document: string, shards: Array<{ sealed: string }> } }
const bytes = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'hex'))
const sha = (...parts: Uint8Array[]): Buffer => createHash('sha256').update(Buffer.concat(parts)).digest()

/** RFC 9162 §2.1.1 MTH over 4 KiB leaves, written from the RFC alone. */
function mth (piece: Buffer): Buffer {
  const leaves: Buffer[] = []
  for (let at = 0; at < piece.byteLength || leaves.length === 0; at += 4096) leaves.push(piece.subarray(at, at + 4096))
  const of = (d: Buffer[]): Buffer => {
    if (d.length === 1) return sha(Uint8Array.of(0), d[0]!)
    let k = 1
    while (k * 2 < d.length) k *= 2
    return sha(Uint8Array.of(1), of(d.slice(0, k)), of(d.slice(k)))
  }
  return of(leaves)
}

describe('published vectors v4: Merkle roots of shards and audit proofs', () => {
  it('every root in the manifest is RFC 9162\'s tree of that shard\'s sealed bytes', () => {
    const roots = vectors.manifest.value.roots!
    assert.equal(roots.length, erasure.file.shards.length)
    erasure.file.shards.forEach((s, i) => assert.equal(mth(Buffer.from(s.sealed, 'hex')).toString('hex'), roots[i]))
    assert.equal(vectors.shard.root, roots[vectors.shard.index])
  })

  it('the version 4 document decodes to the value and back, roots parallel to stripes, keys in the spec\'s order', () => {
    assert.deepEqual(decodeManifest(Buffer.from(vectors.manifest.document)), vectors.manifest.value)
    assert.equal(Buffer.from(encodeManifest(vectors.manifest.value)).toString('utf8'), vectors.manifest.document)
    const wire = JSON.parse(vectors.manifest.document) as { stripes: string[][], roots: string[][] }
    assert.deepEqual(Object.keys(wire), ['version', 'fileId', 'revision', 'name', 'kind', 'size', 'mode', 'mtimeMs', 'scheme', 'shardSize', 'stripes', 'roots', 'peers', 'holders', 'deleteCommitment', 'writer', 'receipts'])
    assert.deepEqual(wire.roots.map((r) => r.length), wire.stripes.map((s) => s.length))
  })

  it('version 3 documents still read, without roots', () => {
    const v3 = decodeManifest(Buffer.from(erasure.file.document))
    assert.equal(v3.version, 3)
    assert.equal(v3.roots, undefined)
  })

  it('a version 4 document with missing, short, extra or non-canonical roots is refused; so is a v3 one with roots', () => {
    const wire = JSON.parse(vectors.manifest.document) as Record<string, unknown> & { roots: string[][] }
    const bad = [
      { ...wire, roots: undefined },
      { ...wire, roots: wire.roots.slice(1) },
      { ...wire, roots: wire.roots.map((r, s) => s === 0 ? r.slice(1) : r) },
      { ...wire, roots: wire.roots.map((r, s) => s === 0 ? [...r, r[0]] : r) },
      { ...wire, roots: wire.roots.map((r) => r.map((x) => x.toUpperCase())) },
      { ...wire, roots: wire.roots.map((r) => r.map((x) => x.slice(2))) },
      { ...wire, version: 3 }
    ]
    for (const w of bad) assert.throws(() => decodeManifest(Buffer.from(JSON.stringify(w))), InvalidManifestError)
  })

  for (const [name, tree] of [['a small sealed shard', vectors.shard], ['a sealed 1 MiB shard (257 leaves)', vectors.large]] as const) {
    it(`${name}: every published leaf and path verifies, and no other leaf does`, () => {
      for (const p of tree.proofs) {
        assert.ok(verifyInclusion(bytes(tree.root), tree.leafCount, p.index, bytes(p.leaf), p.path.map(bytes)))
        const other = bytes(p.leaf)
        other[other.byteLength - 1]! ^= 0x80
        assert.equal(verifyInclusion(bytes(tree.root), tree.leafCount, p.index, other, p.path.map(bytes)), false)
      }
    })
  }
})
