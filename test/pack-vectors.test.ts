import assert from 'node:assert/strict'
import { createDecipheriv, createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { CID } from 'multiformats/cid'
import { contentKey, fileRoot, readRoot } from '../src/domain/crypto/key-derivation.ts'
import { OWNER_CHUNK_OVERHEAD, OwnerChunkCipher, ownerChunkAad } from '../src/domain/crypto/owner-layer.ts'
import { catalogueVersionFor, decodeCatalogue, encodeCatalogue } from '../src/domain/formats/catalogue.ts'
import { applyDelta, decodeGenerationDocument, type CatalogueDelta } from '../src/domain/formats/catalogue-delta.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { buildPack, packRefProblem, sliceOfPack, type PackRef } from '../src/domain/formats/pack.ts'

const v = JSON.parse(readFileSync(new URL('./vectors/packs.json', import.meta.url), 'utf8'))
const batches = JSON.parse(readFileSync(new URL('./vectors/batches.json', import.meta.url), 'utf8'))
const bytes = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, 'hex'))
const utf8 = new TextEncoder()
const text = new TextDecoder()
const packBytes = bytes(v.pack.bytes)
const deltaOf = (document: string): CatalogueDelta => {
  const read = decodeGenerationDocument(utf8.encode(document))
  assert.equal(read.kind, 'delta')
  return (read as { delta: CatalogueDelta }).delta
}

/** The owner layer opened as owner-layer.md writes it, with node:crypto alone. */
function openBySpec (key: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(1, 13), { authTagLength: 16 })
  decipher.setAAD(aad)
  decipher.setAuthTag(sealed.subarray(sealed.byteLength - 16))
  return Buffer.concat([decipher.update(sealed.subarray(13, sealed.byteLength - 16)), decipher.final()])
}

describe('pack vectors (test/vectors/packs.json)', () => {
  it('are of the batch of batches.json', () => {
    assert.equal(v.master, batches.master)
    assert.equal(v.batchId, batches.batchId)
    assert.equal(v.readCommitment, batches.readCommitment)
    assert.equal(v.deleteCommitment, batches.deleteCommitment)
  })

  it('the pack is its sealed chunks one after the other, with the id of the whole', () => {
    const sealed = v.files.map((f: { sealed: string }) => bytes(f.sealed))
    assert.equal(Buffer.from(packBytes).toString('hex'), Buffer.concat(sealed).toString('hex'))
    const built = buildPack(sealed)
    assert.equal(Buffer.from(built.bytes).toString('hex'), v.pack.bytes)
    assert.equal(built.id, v.pack.id)
    assert.equal(chunkIdOf(packBytes), v.pack.id)
    assert.deepEqual(built.refs, v.files.map((f: { ref: PackRef }) => f.ref))
    // a pack's id is a chunk id like any other: CIDv1, codec raw, sha2-256 of all its bytes
    const cid = CID.parse(v.pack.id)
    assert.deepEqual([cid.version, cid.code, cid.multihash.code], [1, 0x55, 0x12])
    assert.equal(Buffer.from(cid.multihash.digest).toString('hex'), createHash('sha256').update(packBytes).digest('hex'))
  })

  it('each slice is its file\'s sealed chunk, and opens as chunk 0, final, of its file to the plaintext', () => {
    const master = bytes(v.master)
    for (const f of v.files) {
      const fileId = bytes(f.fileId)
      const slice = sliceOfPack(packBytes, f.ref, f.chunkId)
      assert.equal(Buffer.from(slice).toString('hex'), f.sealed)
      assert.equal(chunkIdOf(slice), f.chunkId)
      assert.equal(f.ref.length, bytes(f.plaintext).byteLength + OWNER_CHUNK_OVERHEAD)
      assert.equal(Buffer.from(OwnerChunkCipher.forFile(master, fileId).open(0, true, slice)).toString('hex'), f.plaintext)
      assert.equal(Buffer.from(contentKey(readRoot(fileRoot(master, fileId)))).toString('hex'), f.contentKey)
      assert.equal(Buffer.from(ownerChunkAad(fileId, 0, true)).toString('hex'), f.aad)
      assert.equal(openBySpec(bytes(f.contentKey), bytes(f.aad), slice).toString('hex'), f.plaintext)
      // any other place in the file is refused: a slice is its file's whole content
      assert.throws(() => OwnerChunkCipher.forFile(master, fileId).open(0, false, slice), { name: 'ChunkDecryptionError' })
    }
  })

  it('the version 6 catalogue names each file as its slice of the pack, and is written back to the same text', () => {
    const catalogue = decodeCatalogue(utf8.encode(v.catalogue.document))
    assert.equal(catalogue.version, 6)
    assert.equal(catalogueVersionFor(catalogue.entries), 6)
    assert.deepEqual(catalogue.entries.map((e) => e.chunks), v.files.map((f: { chunkId: string, ref: PackRef }) => [{ id: f.chunkId, holders: JSON.parse(v.catalogue.document).peers, pack: f.ref }]))
    catalogue.entries.forEach((e, i) => {
      assert.equal(e.batch, v.batchId)
      assert.equal(e.fileId, v.files[i].fileId)
      assert.equal(e.size, bytes(v.files[i].plaintext).byteLength)
    })
    assert.equal(text.decode(encodeCatalogue(catalogue)), v.catalogue.document)
  })

  it('a version 6 delta adds a packed file to a version 4 catalogue, and the result is version 6', () => {
    const parent = decodeCatalogue(utf8.encode(v.delta.parent))
    assert.equal(parent.version, 4)
    const delta = deltaOf(v.delta.document)
    assert.equal(delta.version, 6)
    const result = applyDelta(parent, delta)
    assert.equal(result.version, 6)
    assert.equal(text.decode(encodeCatalogue(result)), v.delta.result)
    assert.deepEqual(result.entries.at(-1)!.chunks![0]!.pack, v.files[0].ref)
  })

  it('every refused document, delta and slice is refused', () => {
    assert.equal(v.refusedDocuments.length, 9)
    for (const bad of v.refusedDocuments) assert.throws(() => decodeGenerationDocument(utf8.encode(bad.document)), { name: 'InvalidCatalogueError' }, bad.why)
    assert.equal(v.refusedDeltas.length, 1)
    for (const bad of v.refusedDeltas) {
      const parent = decodeCatalogue(utf8.encode(bad.parent))
      assert.throws(() => applyDelta(parent, deltaOf(bad.document)), { name: 'InvalidCatalogueError' }, bad.why)
    }
    assert.equal(v.refusedSlices.length, 3)
    for (const bad of v.refusedSlices) {
      const size = v.files.find((f: { chunkId: string }) => f.chunkId === bad.chunkId).ref.length
      assert.equal(packRefProblem(bad.ref, bad.chunkId, size), undefined, `${bad.why}: passes the document's rules`)
      assert.throws(() => sliceOfPack(bytes(bad.pack), bad.ref, bad.chunkId), { name: 'InvalidPackError' }, bad.why)
    }
  })
})
