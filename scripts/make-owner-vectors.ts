// Writes test/vectors/manifests-and-catalogue.json: a sealed catalogue, a sealed
// manifest, a sealed tree listing (a directory share) and their share codes, of
// protocol v2, from fixed inputs, with every value derived on the way and forgeries a
// reader must refuse, for other implementations
// to check their readers against (protocol-spec/manifests-and-catalogue.md).
//
//   bash scripts/node.sh scripts/make-owner-vectors.ts
//
// Sealing draws random nonces, so each run writes different ciphertext; every run's
// output is equally valid and the committed file is the published one. The edition ids
// come from a fixed source and Ed25519 signatures are deterministic (RFC 8032), so the
// plaintexts, documents and signatures are reproducible.
// test/manifests-and-catalogue-vectors.test.ts opens the pieces twice: with the
// implementation, and with node:crypto following the spec step by step.
import { createHash } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ownerFileCapabilities, writeKeyOf, writerPinOf, type WriteKey } from '../src/domain/capabilities/file-capabilities.ts'
import { signBody } from '../src/domain/capabilities/signed-body.ts'
import {
  CATALOGUE_SIGNATURE_LABEL, cataloguePieceAad, encodeCatalogue, sealCatalogue, type Catalogue
} from '../src/domain/formats/catalogue.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import {
  catalogueDeleteSecret, catalogueKey, catalogueSecret, catalogueWriteKeySeed, fileRoot, manifestKey, manifestSecret, retrievalSecret
} from '../src/domain/crypto/key-derivation.ts'
import {
  encodeManifest, MANIFEST_SIGNATURE_LABEL, manifestPieceAad, PIECE_SIGNATURE_LABEL, sealManifest, type Manifest
} from '../src/domain/formats/manifest.ts'
import { PieceCodec } from '../src/domain/formats/sealed-pieces.ts'
import { contentHasher, contentHashKey } from '../src/domain/formats/content-hash.ts'
import { encodeShareCode } from '../src/domain/formats/share-code.ts'
import { encodeTreeListing, sealTreeListing, TREE_SIGNATURE_LABEL, type TreeListing } from '../src/domain/formats/tree-listing.ts'
import { commitmentToDecimal, poseidonCommitment } from '../src/domain/proofs/poseidon-commitment.ts'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const fixed = (text: string, length: number): Uint8Array => createHash('sha256').update(text).digest().subarray(0, length)
const edition = (text: string) => (n: number): Uint8Array => fixed(text, n)
const commitment = (secret: bigint): string => commitmentToDecimal(poseidonCommitment(secret))

const master = Uint8Array.from({ length: 32 }, (_, i) => i)
const fileId = fixed('quloud vector: file id', 16)
const caps = ownerFileCapabilities(master, fileId)
const read = caps.read
const peers = ['12D3KooWGzBhGjFbAGmDQ5rPkMqEJPWjS6GKHZyM3Sq2sXzr9hEa', '12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK']
const chunkIds = [chunkIdOf(fixed('chunk 0', 16)), chunkIdOf(fixed('chunk 1', 16))]
const deleteCommitment = commitment(caps.deleteSecret)

const manifest: Manifest = {
  version: 2,
  fileId: hex(fileId),
  revision: 1,
  name: 'a.jpg',
  kind: 'file',
  size: 1_500_000,
  mode: 0o644,
  mtimeMs: 1_700_000_000_123,
  chunkSize: 1_048_576,
  chunks: [{ id: chunkIds[0]!, size: 1_048_576 }, { id: chunkIds[1]!, size: 451_424 }],
  holders: [[peers[0]!, peers[1]!], [peers[1]!]],
  deleteCommitment,
  writer: hex(caps.write.publicKey),
  receipts: [{ peerId: peers[1]!, chunkId: chunkIds[1]!, timeMs: 1_700_000_001_000, signature: Buffer.from(fixed('signature', 32)).toString('base64') }]
}
const manifestDocument = encodeManifest(manifest)
const manifestBody = signBody(MANIFEST_SIGNATURE_LABEL, caps.write, manifestDocument)
const manifestPieces = sealManifest(manifest, read, caps.write, { random: edition('manifest edition') })

// What a share-code holder can make: pieces under the right manifest key, but no owner signature.
const forger = writeKeyOf(fixed('quloud vector: a reader\'s own key', 32))
/** Pieces that open under a file's manifest key, each signed by `writer` (a reader can only use its own key). */
const piecesSignedBy = (key: Uint8Array, writer: WriteKey): PieceCodec => new PieceCodec({
  key, aad: manifestPieceAad(), maxPieces: 512, undecryptable: (reason) => new Error(reason), invalid: (reason) => new Error(reason),
  signature: { label: PIECE_SIGNATURE_LABEL, writer, accept: () => true, refuse: (reason) => new Error(reason) }
})
const readerCodec = piecesSignedBy(manifestKey(read.readRoot), forger)
// a damaged owner write: pieces the owner's key signed around a document whose signature is broken
const damagedOwnerCodec = piecesSignedBy(manifestKey(read.readRoot), caps.write)
const evil: Manifest = { ...manifest, revision: 2, holders: [[peers[0]!], [peers[0]!]], receipts: [] }
const ownKeyDocument = encodeManifest({ ...evil, writer: hex(forger.publicKey) })
const ownKeyBody = signBody(MANIFEST_SIGNATURE_LABEL, forger, ownKeyDocument)
const tamperedBody = signBody(MANIFEST_SIGNATURE_LABEL, caps.write, encodeManifest(evil))
tamperedBody[tamperedBody.byteLength - 64]! ^= 0x01 // the first byte of the signature (R's encoding)
const forgeries = [
  {
    why: 'document and pieces signed by the reader\'s own key, named as writer: its pin is not the share code\'s',
    signer: hex(forger.publicKey),
    signerPin: hex(writerPinOf(forger.publicKey)),
    document: Buffer.from(ownKeyDocument).toString('utf8'),
    pieces: readerCodec.seal(ownKeyBody, 2, edition('forged edition 1')).map(hex),
    edition: hex(edition('forged edition 1')(16))
  },
  {
    why: 'pieces signed by the owner\'s key (a damaged write), the document\'s signature with its first byte flipped: it does not verify',
    signer: hex(caps.write.publicKey),
    signerPin: hex(read.writerPin),
    document: Buffer.from(encodeManifest(evil)).toString('utf8'),
    pieces: damagedOwnerCodec.seal(tamperedBody, 2, edition('forged edition 2')).map(hex),
    edition: hex(edition('forged edition 2')(16))
  }
]

// A directory share: the tree rooted at the catalogue's directory entry, its capabilities from that entry's id.
const treeId = fixed('quloud vector: directory id', 16)
const tree = ownerFileCapabilities(master, treeId)
const listing: TreeListing = {
  version: 3,
  kind: 'tree',
  treeId: hex(treeId),
  revision: 1_700_000_003_000,
  root: 'photos',
  entries: [
    { name: 'photos', kind: 'directory', mode: 0o755, mtimeMs: 1_699_999_999_000 },
    { name: 'photos/2024/a.jpg', kind: 'file', size: 1_500_000, mode: 0o644, mtimeMs: 1_700_000_000_123, read },
    { name: 'photos/latest', kind: 'symlink', mode: 0o777, mtimeMs: 1_700_000_000_456, target: '2024/a.jpg' }
  ],
  writer: hex(tree.write.publicKey)
}
const treeDocument = encodeTreeListing(listing)
const treeBody = signBody(TREE_SIGNATURE_LABEL, tree.write, treeDocument)
const treePieces = sealTreeListing(listing, tree.read, tree.write, { random: edition('tree edition') })
const treeCodec = piecesSignedBy(manifestKey(tree.read.readRoot), forger)
const treeForgeryDocument = encodeTreeListing({ ...listing, revision: listing.revision + 1, writer: hex(forger.publicKey) })
const treeForgery = {
  why: 'a listing of a later revision signed by the reader\'s own key, named as writer: its pin is not the share code\'s',
  signer: hex(forger.publicKey),
  document: Buffer.from(treeForgeryDocument).toString('utf8'),
  pieces: treeCodec.seal(signBody(TREE_SIGNATURE_LABEL, forger, treeForgeryDocument), listing.revision + 1, edition('forged tree edition')).map(hex),
  edition: hex(edition('forged tree edition')(16))
}

// the keyed content hash of a.jpg's (stand-in) content, as `get --skip-existing` compares it
const content = Buffer.from('quloud vector: the content of a.jpg')
const hashKey = contentHashKey(master)
const hasher = contentHasher(hashKey)
hasher.update(content)
const contentHash = hasher.digest()

const catalogue: Catalogue = {
  version: 3,
  generation: 12,
  updatedAt: 1_700_000_002_000,
  entries: [
    {
      fileId: hex(treeId), name: 'photos', kind: 'directory', size: 0, mode: 0o755, mtimeMs: 1_699_999_999_000, group: { id: hex(fixed('group', 16)), root: 'photos', version: 2, storedAt: 1_700_000_001_000 },
      shares: [{ label: 'family', createdAt: 1_700_000_003_000 }]
    },
    {
      fileId: hex(fileId), name: 'photos/2024/a.jpg', kind: 'file', size: 1_500_000, mode: 0o644, mtimeMs: 1_700_000_000_123,
      contentHash,
      group: { id: hex(fixed('group', 16)), root: 'photos', version: 2, storedAt: 1_700_000_001_000 },
      shares: [{ label: 'Alice', createdAt: 1_700_000_001_500 }, { label: 'Bob, for a week', createdAt: 1_700_000_001_800, expiresAt: 1_700_604_801_800 }],
      manifest: manifestPieces.map((piece) => ({ id: chunkIdOf(piece), holders: [peers[0]!] }))
    },
    {
      fileId: hex(fixed('quloud vector: link id', 16)), name: 'photos/latest', kind: 'symlink', size: 0, mode: 0o777, mtimeMs: 1_700_000_000_456,
      target: '2024/a.jpg', group: { id: hex(fixed('group', 16)), root: 'photos', version: 2, storedAt: 1_700_000_001_000 }
    }
  ]
}
const catalogueWriter = writeKeyOf(catalogueWriteKeySeed(master))
const catalogueDocument = encodeCatalogue(catalogue)
const catalogueBody = signBody(CATALOGUE_SIGNATURE_LABEL, catalogueWriter, catalogueDocument)
const cataloguePieces = sealCatalogue(catalogue, master, { random: edition('catalogue edition') })

const vectors = {
  description: 'Quloud protocol v2 sealed catalogue (document version 3), sealed manifest, tree listing (version 3) and share code; see protocol-spec/manifests-and-catalogue.md. Bytes are lowercase hex, scalars and commitments decimal.',
  master: hex(master),
  catalogue: {
    catalogueKey: hex(catalogueKey(master)),
    aad: hex(cataloguePieceAad()),
    writeKeySeed: hex(catalogueWriter.seed),
    writer: hex(catalogueWriter.publicKey),
    readCommitment: commitment(catalogueSecret(master)),
    deleteCommitment: commitment(catalogueDeleteSecret(master)),
    signatureLabel: CATALOGUE_SIGNATURE_LABEL,
    document: Buffer.from(catalogueDocument).toString('utf8'),
    signature: hex(catalogueBody.subarray(catalogueBody.byteLength - 64)),
    edition: hex(edition('catalogue edition')(16)),
    pieces: cataloguePieces.map(hex),
    value: catalogue,
    contentHashKey: hex(hashKey),
    content: hex(content)
  },
  manifest: {
    fileId: hex(fileId),
    fileRoot: hex(fileRoot(master, fileId)),
    readRoot: hex(read.readRoot),
    manifestKey: hex(manifestKey(read.readRoot)),
    aad: hex(manifestPieceAad()),
    writeKeySeed: hex(caps.write.seed),
    writer: hex(caps.write.publicKey),
    writerPin: hex(read.writerPin),
    readCommitment: commitment(retrievalSecret(read.readRoot)),
    manifestCommitment: commitment(manifestSecret(read.readRoot)),
    deleteCommitment,
    signatureLabel: MANIFEST_SIGNATURE_LABEL,
    document: Buffer.from(manifestDocument).toString('utf8'),
    signature: hex(manifestBody.subarray(manifestBody.byteLength - 64)),
    edition: hex(edition('manifest edition')(16)),
    pieces: manifestPieces.map(hex),
    value: manifest,
    forgeries
  },
  tree: {
    treeId: hex(treeId),
    readRoot: hex(tree.read.readRoot),
    manifestKey: hex(manifestKey(tree.read.readRoot)),
    writer: hex(tree.write.publicKey),
    writerPin: hex(tree.read.writerPin),
    manifestCommitment: commitment(manifestSecret(tree.read.readRoot)),
    deleteCommitment: commitment(tree.deleteSecret),
    signatureLabel: TREE_SIGNATURE_LABEL,
    document: Buffer.from(treeDocument).toString('utf8'),
    signature: hex(treeBody.subarray(treeBody.byteLength - 64)),
    edition: hex(edition('tree edition')(16)),
    pieces: treePieces.map(hex),
    code: encodeShareCode(tree.read),
    forgeries: [treeForgery]
  },
  shareCode: {
    readRoot: hex(read.readRoot),
    writerPin: hex(read.writerPin),
    code: encodeShareCode(read),
    // a protocol v1 code (Q1, file id and file root): recognised and refused with a message
    v1Code: 'Q1-04002-0G30G-2GC1R-81450-P30D1-R7J08-924CJ-2A9H7-50MJM-ASC5M-Q2YC1-H68SK-8D9P6-WW3JE-HV7GY-KWFRP-X0A6E'
  }
}

const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'vectors', 'manifests-and-catalogue.json')
writeFileSync(out, JSON.stringify(vectors, null, 2) + '\n')
console.log(`wrote ${out}`)
