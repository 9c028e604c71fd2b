// Writes test/vectors/batches.json: a batch (protocol-spec/key-derivation.md,
// "Batches") from fixed inputs, with its secrets and commitments, the manifest document
// of one file of it (with `dataSecret`, signed by the file's write key) and a
// catalogue document naming the file with `batch` and `chunks`, and documents a
// reader must refuse (protocol-spec/manifests-and-catalogue.md).
//
//   bash scripts/node.sh scripts/make-batch-vectors.ts
//
// Everything here is deterministic (no sealing), so every run writes the same file.
import { createHash } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ownerFileCapabilities } from '../src/domain/capabilities/file-capabilities.ts'
import { signBody } from '../src/domain/capabilities/signed-body.ts'
import { batchDeleteSecret, batchReadSecret, batchRoot } from '../src/domain/crypto/key-derivation.ts'
import { encodeCatalogue, type Catalogue } from '../src/domain/formats/catalogue.ts'
import { contentHashKey, statStamp } from '../src/domain/formats/content-hash.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { fileIdToString } from '../src/domain/formats/file-id.ts'
import { encodeManifest, MANIFEST_SIGNATURE_LABEL, type Manifest } from '../src/domain/formats/manifest.ts'
import { commitmentToDecimal, poseidonCommitment } from '../src/domain/proofs/poseidon-commitment.ts'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const fixed = (text: string, length: number): Uint8Array => createHash('sha256').update(text).digest().subarray(0, length)
const commitment = (secret: bigint): string => commitmentToDecimal(poseidonCommitment(secret))
const utf8 = new TextDecoder()

const master = Uint8Array.from({ length: 32 }, (_, i) => i)
const batchId = fixed('quloud vector: batch id', 16)
const fileId = fixed('quloud vector: batched file id', 16)
const root = batchRoot(master, batchId)
const readSecret = batchReadSecret(root)
const deleteSecret = batchDeleteSecret(root)
const caps = ownerFileCapabilities(master, fileId)
const peers = ['12D3KooWGzBhGjFbAGmDQ5rPkMqEJPWjS6GKHZyM3Sq2sXzr9hEa', '12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK']
const chunk = chunkIdOf(fixed('batched chunk 0', 16))

const manifest: Manifest = {
  version: 2, fileId: fileIdToString(fileId), revision: 1, name: 'IMG_0001.jpg', kind: 'file', size: 5000, mode: 0o644, mtimeMs: 1764547200000,
  chunkSize: 1024 * 1024, chunks: [{ id: chunk, size: 5000 }], holders: [peers], deleteCommitment: commitment(deleteSecret),
  writer: hex(caps.write.publicKey), receipts: [], dataSecret: readSecret.toString(10)
}
const manifestDocument = encodeManifest(manifest)
const manifestBody = signBody(MANIFEST_SIGNATURE_LABEL, caps.write, manifestDocument)

const catalogue: Catalogue = {
  version: 3, generation: 1, updatedAt: 1764547200000,
  entries: [{
    fileId: fileIdToString(fileId), name: 'IMG_0001.jpg', kind: 'file', size: 5000, mode: 0o644, mtimeMs: 1764547200000,
    manifest: [{ id: chunkIdOf(fixed('manifest piece', 16)), holders: peers }], batch: hex(batchId), chunks: [{ id: chunk, holders: peers }]
  }]
}
const catalogueDocument = utf8.decode(encodeCatalogue(catalogue))
const wire = JSON.parse(catalogueDocument)
const entryWith = (change: Record<string, unknown>): string => JSON.stringify({ ...wire, entries: [{ ...wire.entries[0], ...change }] })
const withoutKey = (key: string): string => {
  const entry = { ...wire.entries[0] }
  delete entry[key]
  return JSON.stringify({ ...wire, entries: [entry] })
}

// version 4: the same batched file before it is shared, with no manifest
const { manifest: _, ...unshared } = catalogue.entries[0]!
const identity = '2049:1835271:1764547200123.4567'
const stamp = statStamp(contentHashKey(master), identity)
const catalogueV4Document = utf8.decode(encodeCatalogue({ ...catalogue, version: 4, entries: [{ ...unshared, statStamp: stamp }] }))
// the refused documents without the stamp: each is refused for its manifest alone
const wireV4 = JSON.parse(catalogueV4Document)
delete wireV4.entries[0].statStamp
const unbatched = { ...wireV4.entries[0] }
delete unbatched.batch
delete unbatched.chunks

const vectors = {
  description: 'Quloud batches (protocol v3 labels): a batch\'s secrets and commitments, the manifest of a batched file and the catalogue entry that names it; see protocol-spec/key-derivation.md ("Batches") and protocol-spec/manifests-and-catalogue.md. Bytes lowercase hex, scalars and commitments decimal.',
  master: hex(master),
  batchId: hex(batchId),
  batchRoot: hex(root),
  batchReadSecret: readSecret.toString(10),
  batchDeleteSecret: deleteSecret.toString(10),
  readCommitment: commitment(readSecret),
  deleteCommitment: commitment(deleteSecret),
  fileId: hex(fileId),
  manifest: {
    document: utf8.decode(manifestDocument),
    signatureLabel: MANIFEST_SIGNATURE_LABEL,
    signedBody: hex(manifestBody)
  },
  catalogue: { document: catalogueDocument },
  refused: [
    { why: 'a batch without its chunks', document: withoutKey('chunks') },
    { why: 'chunks without a batch', document: withoutKey('batch') },
    { why: 'a file of 5000 bytes has one chunk, not two', document: entryWith({ chunks: [[chunk, [0]], [chunkIdOf(fixed('batched chunk 1', 16)), [1]]] }) },
    { why: 'a batch id in upper case', document: entryWith({ batch: hex(batchId).toUpperCase() }) },
    { why: 'a batch in a version 2 catalogue', document: JSON.stringify({ ...wire, version: 2 }) }
  ],
  catalogueV4: { document: catalogueV4Document, statStamp: { identity, stamp } },
  refusedV4: [
    { why: 'a batched file without a manifest in a version 3 catalogue', document: JSON.stringify({ ...wireV4, version: 3 }) },
    // its peers are named by no entry any more: a second file keeps them in use
    { why: 'a file outside a batch without a manifest', document: JSON.stringify({ ...wireV4, entries: [wireV4.entries[0], { ...unbatched, fileId: '44'.repeat(16), name: 'other.jpg' }] }) }
  ]
}

const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'vectors', 'batches.json')
writeFileSync(out, JSON.stringify(vectors, null, 2) + '\n')
console.log(`wrote ${out}`)
