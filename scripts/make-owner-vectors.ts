// Writes test/vectors/manifests-and-catalogue.json: a sealed catalogue, a sealed
// manifest and a share code from fixed inputs, for other implementations to check their
// readers against (protocol-spec/manifests-and-catalogue.md).
//
//   bash scripts/node.sh scripts/make-owner-vectors.ts
//
// Sealing draws random nonces, so each run writes different ciphertext; every run's
// output is equally valid and the committed file is the published one. The edition ids
// come from a fixed source so that the plaintexts are reproducible.
// test/manifests-and-catalogue-vectors.test.ts opens the pieces twice: with the
// implementation, and with node:crypto following the spec step by step.
import { createHash } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { encodeCatalogue, sealCatalogue, type Catalogue } from '../src/domain/formats/catalogue.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { fileRoot } from '../src/domain/crypto/key-derivation.ts'
import { encodeManifest, sealManifest, type Manifest } from '../src/domain/formats/manifest.ts'
import { encodeShareCode } from '../src/domain/formats/share-code.ts'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const fixed = (text: string, length: number): Uint8Array => createHash('sha256').update(text).digest().subarray(0, length)
const edition = (text: string) => (n: number): Uint8Array => fixed(text, n)

const master = Uint8Array.from({ length: 32 }, (_, i) => i)
const fileId = fixed('quloud vector: file id', 16)
const root = fileRoot(master, fileId)
const peers = ['12D3KooWGzBhGjFbAGmDQ5rPkMqEJPWjS6GKHZyM3Sq2sXzr9hEa', '12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK']
const chunkIds = [chunkIdOf(fixed('chunk 0', 16)), chunkIdOf(fixed('chunk 1', 16))]

const manifest: Manifest = {
  version: 1,
  fileId: hex(fileId),
  revision: 3,
  name: 'photos/2024/a.jpg',
  kind: 'file',
  size: 1_500_000,
  mode: 0o644,
  mtimeMs: 1_700_000_000_123,
  chunkSize: 1_048_576,
  chunks: [{ id: chunkIds[0]!, size: 1_048_576 }, { id: chunkIds[1]!, size: 451_424 }],
  holders: [[peers[0]!, peers[1]!], [peers[1]!]],
  receipts: [{ peerId: peers[1]!, chunkId: chunkIds[1]!, timeMs: 1_700_000_001_000, signature: Buffer.from(fixed('signature', 32)).toString('base64') }]
}
const manifestPieces = sealManifest(manifest, root, { random: edition('manifest edition') })

const catalogue: Catalogue = {
  version: 1,
  generation: 12,
  updatedAt: 1_700_000_002_000,
  entries: [
    { fileId: hex(fixed('quloud vector: directory id', 16)), name: 'photos', kind: 'directory', size: 0, mode: 0o755, mtimeMs: 1_699_999_999_000, group: { id: hex(fixed('group', 16)), root: 'photos' } },
    {
      fileId: hex(fileId), name: 'photos/2024/a.jpg', kind: 'file', size: 1_500_000, mode: 0o644, mtimeMs: 1_700_000_000_123,
      group: { id: hex(fixed('group', 16)), root: 'photos' },
      manifest: manifestPieces.map((piece) => ({ id: chunkIdOf(piece), holders: [peers[0]!] }))
    }
  ]
}
const cataloguePieces = sealCatalogue(catalogue, master, { random: edition('catalogue edition') })

const vectors = {
  description: 'Quloud sealed catalogue, sealed manifest and share code; see protocol-spec/manifests-and-catalogue.md. Bytes are lowercase hex.',
  master: hex(master),
  catalogue: {
    pieces: cataloguePieces.map(hex),
    edition: hex(edition('catalogue edition')(16)),
    encoded: Buffer.from(encodeCatalogue(catalogue)).toString('utf8'),
    value: catalogue
  },
  manifest: {
    fileId: hex(fileId),
    fileRoot: hex(root),
    pieces: manifestPieces.map(hex),
    edition: hex(edition('manifest edition')(16)),
    encoded: Buffer.from(encodeManifest(manifest)).toString('utf8'),
    value: manifest
  },
  shareCode: { fileId: hex(fileId), fileRoot: hex(root), code: encodeShareCode({ fileId, fileRoot: root }) }
}

const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'vectors', 'manifests-and-catalogue.json')
writeFileSync(out, JSON.stringify(vectors, null, 2) + '\n')
console.log(`wrote ${out}`)
