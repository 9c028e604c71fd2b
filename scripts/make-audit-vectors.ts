// Writes test/vectors/audits.json: the version 4 manifest of the erasure-coded file of
// test/vectors/erasure.json (its version 3 manifest with a Merkle root per shard), and
// for one sealed shard of it every leaf's inclusion path, and a larger piece (sealed
// 1 MiB shard size, 257 leaves) with a few leaves and paths. Deterministic: the shards
// are erasure.json's. Checked by test/audit-vectors.test.ts.
//   bash scripts/node.sh scripts/make-audit-vectors.ts
import { createHash } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { inclusionPath, leafCount, leafOf, merkleLevels, merkleRoot } from '../src/domain/crypto/merkle-tree.ts'
import { AUDITED_MANIFEST_VERSION, encodeManifest, type Manifest } from '../src/domain/formats/manifest.ts'

const here = dirname(fileURLToPath(import.meta.url))
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const erasure = JSON.parse(readFileSync(join(here, '../test/vectors/erasure.json'), 'utf8')) as { file: { value: Manifest, shards: Array<{ index: number, sealed: string }> } }
const sealed = erasure.file.shards.map((s) => new Uint8Array(Buffer.from(s.sealed, 'hex')))
const value: Manifest = { ...erasure.file.value, version: AUDITED_MANIFEST_VERSION, roots: sealed.map((s) => hex(merkleRoot(s))) }

function tree (piece: Uint8Array, leaves: number[]): Record<string, unknown> {
  const levels = merkleLevels(piece)
  return {
    root: hex(merkleRoot(piece)),
    leafCount: leafCount(piece.byteLength),
    proofs: leaves.map((index) => ({ index, leaf: hex(leafOf(piece, index)), path: inclusionPath(levels, index).map(hex) }))
  }
}

const large = new Uint8Array(1024 * 1024 + 29)
for (let at = 0, i = 0; at < large.byteLength; i++, at += 32) large.set(createHash('sha256').update(`audit vector ${i}`).digest().subarray(0, Math.min(32, large.byteLength - at)), at)

writeFileSync(join(here, '../test/vectors/audits.json'), JSON.stringify({
  description: 'Quloud manifest version 4 (version 3 with a Merkle root per shard) and RFC 9162 Merkle trees of stored pieces in 4 KiB leaves; see protocol-spec/audits-and-repair.md. Bytes are lowercase hex.',
  manifest: { document: new TextDecoder().decode(encodeManifest(value)), value },
  shard: { index: 0, sealed: erasure.file.shards[0]!.sealed, ...tree(sealed[0]!, [0]) },
  large: { seed: 'SHA-256 of "audit vector i", i = 0, 1, …, concatenated, first 1048605 bytes', ...tree(large, [0, 1, 127, 128, 255, 256]) }
}, null, 2) + '\n')
