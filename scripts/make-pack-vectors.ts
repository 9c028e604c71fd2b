// Writes test/vectors/packs.json: a pack (protocol-spec/manifests-and-catalogue.md,
// "Catalogue (version 6)") of three small files of the batch of test/vectors/batches.json,
// each really sealed by the owner layer under its own content key, the version 6
// catalogue naming them, a version 6 delta adding one of them to a version 4 catalogue,
// and documents, deltas and slices a reader must refuse. Checked by
// test/pack-vectors.test.ts.
//
//   bash scripts/node.sh scripts/make-pack-vectors.ts
//
// The master secret, batch and peers are batches.json's, so both files describe one
// batch. Sealing draws random nonces, as in every generator here that seals (the owner
// layer takes no nonce from outside), so each run writes other sealed bytes and so other
// chunk and pack ids; every run's output is equally valid and the committed file is the
// published one. Keys, plaintexts, sizes, offsets, lengths and what each refused case
// changes are the same on every run.
import { createHash } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { OWNER_CHUNK_OVERHEAD, OwnerChunkCipher, ownerChunkAad } from '../src/domain/crypto/owner-layer.ts'
import { batchDeleteSecret, batchReadSecret, batchRoot, contentKey, fileRoot, readRoot } from '../src/domain/crypto/key-derivation.ts'
import { encodeCatalogue, type Catalogue, type CatalogueEntry } from '../src/domain/formats/catalogue.ts'
import { applyDelta, decodeGenerationDocument, diffEntries, encodeDelta, type CatalogueDelta } from '../src/domain/formats/catalogue-delta.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { buildPack, PACK_MAX_BYTES, PACKED_CHUNK_MAX_BYTES, type PackRef } from '../src/domain/formats/pack.ts'
import { commitmentToDecimal, poseidonCommitment } from '../src/domain/proofs/poseidon-commitment.ts'

const here = dirname(fileURLToPath(import.meta.url))
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const fixed = (text: string, length: number): Uint8Array => createHash('sha256').update(text).digest().subarray(0, length)
const commitment = (secret: bigint): string => commitmentToDecimal(poseidonCommitment(secret))
const utf8 = new TextEncoder()
const text = new TextDecoder()

const batches = JSON.parse(readFileSync(join(here, '../test/vectors/batches.json'), 'utf8'))
const master = Uint8Array.from(Buffer.from(batches.master, 'hex'))
const batchId = Uint8Array.from(Buffer.from(batches.batchId, 'hex'))
const peers: string[] = JSON.parse(batches.catalogue.document).peers
const root = batchRoot(master, batchId)
const mtimeMs = 1764547200000

const files = [
  { name: 'notes/a.txt', content: 'a small file, sealed alone and stored in a pack\n' },
  { name: 'notes/b.txt', content: 'a second one, longer, so that its slice does not start where a fixed size would put it\n' },
  { name: 'notes/c.json', content: '{"packed":true}\n' }
].map((file) => {
  const fileId = fixed(`quloud vector: packed file ${file.name}`, 16)
  const plaintext = utf8.encode(file.content)
  // a file of one chunk: chunk 0 is its final chunk
  const sealed = OwnerChunkCipher.forFile(master, fileId).seal(0, true, plaintext)
  return { ...file, fileId, plaintext, sealed, chunkId: chunkIdOf(sealed) }
})
const pack = buildPack(files.map((f) => f.sealed))

const packedEntry = (f: typeof files[number], ref: PackRef): CatalogueEntry => ({
  fileId: hex(f.fileId), name: f.name, kind: 'file', size: f.plaintext.byteLength, mode: 0o644, mtimeMs,
  batch: hex(batchId), chunks: [{ id: f.chunkId, holders: peers, pack: ref }]
})
const entries = files.map((f, i) => packedEntry(f, pack.refs[i]!))
const catalogue: Catalogue = { version: 6, generation: 1, updatedAt: mtimeMs, entries }
const catalogueDocument = text.decode(encodeCatalogue(catalogue))
const wire = JSON.parse(catalogueDocument)

/** The catalogue document with the first entry's chunks (the wire tuples) replaced. */
const withChunks = (chunks: unknown[], change: Record<string, unknown> = {}): string =>
  JSON.stringify({ ...wire, entries: [{ ...wire.entries[0], ...change, chunks }, ...wire.entries.slice(1)] })
const [chunkId, holders, packId, offset, length] = wire.entries[0].chunks[0] as [string, number[], string, number, number]

// the parent of the delta: a version 4 catalogue of one batched file stored alone
const alone: CatalogueEntry = {
  fileId: hex(fixed('quloud vector: unpacked file', 16)), name: 'photo.jpg', kind: 'file', size: 400_000, mode: 0o644, mtimeMs,
  batch: hex(batchId), chunks: [{ id: chunkIdOf(fixed('unpacked chunk 0', 16)), holders: [peers[0]!] }]
}
const parent: Catalogue = { version: 4, generation: 1, updatedAt: mtimeMs, entries: [alone] }
const edition = hex(fixed('quloud vector: pack delta parent edition', 16))
const deltaOf = (version: CatalogueDelta['version'], from: Catalogue, next: CatalogueEntry[]): CatalogueDelta => {
  const ref = { generation: from.generation, edition }
  return { version, kind: 'delta', generation: from.generation + 1, updatedAt: mtimeMs + 1000, base: ref, parent: ref, ...diffEntries(from.entries, next) }
}
const delta = deltaOf(6, parent, [alone, entries[0]!])
const deltaDocument = encodeDelta(delta)
const read = decodeGenerationDocument(deltaDocument)
if (read.kind !== 'delta') throw new Error('the delta did not read back as one')
const result = applyDelta(parent, read.delta)

// a one-chunk file whose sealed chunk is one byte over what is packed
const tooLarge = PACKED_CHUNK_MAX_BYTES + 1 - OWNER_CHUNK_OVERHEAD

const vectors = {
  description: 'Quloud packs (catalogue version 6): the sealed chunks of small files of one batch stored one after the other as one chunk, and the catalogue entries that name each as a slice of it; see protocol-spec/manifests-and-catalogue.md, "Catalogue (version 6)". The master secret, batch and peers are those of batches.json. Bytes lowercase hex.',
  master: hex(master),
  batchId: hex(batchId),
  readCommitment: commitment(batchReadSecret(root)),
  deleteCommitment: commitment(batchDeleteSecret(root)),
  files: files.map((f, i) => ({
    fileId: hex(f.fileId),
    name: f.name,
    plaintext: hex(f.plaintext),
    contentKey: hex(contentKey(readRoot(fileRoot(master, f.fileId)))),
    aad: hex(ownerChunkAad(f.fileId, 0, true)),
    sealed: hex(f.sealed),
    chunkId: f.chunkId,
    ref: pack.refs[i]
  })),
  pack: { id: pack.id, bytes: hex(pack.bytes) },
  catalogue: { document: catalogueDocument },
  delta: {
    parent: text.decode(encodeCatalogue(parent)),
    document: text.decode(deltaDocument),
    result: text.decode(encodeCatalogue(result))
  },
  // each is refused by a reader of the document alone
  refusedDocuments: [
    { why: 'a slice that ends past a pack\'s 1,048,576 bytes', document: withChunks([[chunkId, holders, packId, PACK_MAX_BYTES - length + 1, length]]) },
    { why: 'a slice one byte longer than the sealed chunk (size + 29)', document: withChunks([[chunkId, holders, packId, offset, length + 1]]) },
    { why: 'a slice one byte shorter than the sealed chunk (size + 29)', document: withChunks([[chunkId, holders, packId, offset, length - 1]]) },
    { why: 'a sealed chunk over 262,144 bytes named as a slice', document: withChunks([[chunkId, holders, packId, 0, tooLarge + OWNER_CHUNK_OVERHEAD]], { size: tooLarge }) },
    { why: 'a pack that is the chunk it holds', document: withChunks([[chunkId, holders, chunkId, offset, length]]) },
    { why: 'a pack named on the second chunk of a file of two chunks', document: withChunks([[chunkIdOf(fixed('first chunk', 16)), holders], [chunkId, holders, packId, offset, length]], { size: 1024 * 1024 + 1 }) },
    { why: 'a packed file of two chunks', document: withChunks([[chunkId, holders, packId, offset, length], [chunkIdOf(fixed('second chunk', 16)), holders]], { size: 1024 * 1024 + 1 }) },
    { why: 'a pack in a version 4 catalogue', document: JSON.stringify({ ...wire, version: 4 }) },
    { why: 'a version 5 delta adding a packed entry', document: JSON.stringify({ ...JSON.parse(text.decode(deltaDocument)), version: 5 }) }
  ],
  // each document reads, and applying it to the named parent is refused
  refusedDeltas: [
    { why: 'a version 5 delta over a version 6 catalogue: it would take it back to version 4', parent: catalogueDocument, document: text.decode(encodeDelta(deltaOf(5, catalogue, entries))) }
  ],
  // each ref passes the document's rules; cutting it from the bytes a holder returned is refused
  refusedSlices: [
    { why: 'a slice past the end of the pack returned', pack: hex(pack.bytes), ref: { ...pack.refs[2]!, offset: pack.bytes.byteLength - pack.refs[2]!.length + 1 }, chunkId: files[2]!.chunkId },
    { why: 'a slice one byte further on: bytes that are not its chunk', pack: hex(pack.bytes), ref: { ...pack.refs[1]!, offset: pack.refs[1]!.offset + 1 }, chunkId: files[1]!.chunkId },
    { why: 'a pack of the same chunks in another order, answered under this pack\'s id', pack: hex(buildPack([...files].reverse().map((f) => f.sealed)).bytes), ref: pack.refs[0]!, chunkId: files[0]!.chunkId }
  ]
}

const out = join(here, '..', 'test', 'vectors', 'packs.json')
writeFileSync(out, JSON.stringify(vectors, null, 2) + '\n')
console.log(`wrote ${out}`)
