import assert from 'node:assert/strict'
import { createDecipheriv, hkdfSync } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { decodeCatalogue, openCatalogue, type Catalogue } from '../src/domain/formats/catalogue.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { decodeManifest, openManifest, type Manifest } from '../src/domain/formats/manifest.ts'
import { decodeShareCode, encodeShareCode } from '../src/domain/formats/share-code.ts'

const vectors = JSON.parse(readFileSync(new URL('./vectors/manifests-and-catalogue.json', import.meta.url), 'utf8')) as {
  master: string
  catalogue: { pieces: string[], edition: string, encoded: string, value: Catalogue }
  manifest: { fileId: string, fileRoot: string, pieces: string[], edition: string, encoded: string, value: Manifest }
  shareCode: { fileId: string, fileRoot: string, code: string }
}
const bytes = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, 'hex'))

/** The spec, step by step, with node:crypto only: key, AAD, envelope, piece header. */
function openBySpec (rootKey: Uint8Array, label: string, aad: Uint8Array, sealed: Uint8Array) {
  const key = Buffer.from(hkdfSync('sha256', rootKey, new Uint8Array(0), Buffer.concat([Buffer.from(label), Buffer.from([0])]), 32))
  assert.equal(sealed[0], 1, 'envelope version')
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(1, 13), { authTagLength: 16 })
  decipher.setAAD(aad)
  decipher.setAuthTag(sealed.subarray(sealed.byteLength - 16))
  const plain = Buffer.concat([decipher.update(sealed.subarray(13, sealed.byteLength - 16)), decipher.final()])
  return {
    edition: plain.subarray(0, 16).toString('hex'),
    generation: Number(plain.readBigUInt64BE(16)),
    index: plain.readUInt32BE(24),
    count: plain.readUInt32BE(28),
    body: plain.subarray(32)
  }
}

describe('published vectors: sealed catalogue, sealed manifest, share code', () => {
  it('opens the catalogue by the spec and by the implementation alike', () => {
    const aad = Buffer.concat([Buffer.from([1]), Buffer.from('quloud/v1/catalogue-piece'), Buffer.from([0])])
    const opened = vectors.catalogue.pieces.map((p) => openBySpec(bytes(vectors.master), 'quloud/v1/catalogue-key', aad, bytes(p)))
    assert.deepEqual(opened.map((p) => [p.edition, p.generation, p.index, p.count]), opened.map((_, i) => [vectors.catalogue.edition, 12, i, opened.length]))
    const body = Buffer.concat(opened.map((p) => p.body)).toString('utf8')
    assert.equal(body, vectors.catalogue.encoded)
    assert.deepEqual(decodeCatalogue(Buffer.from(body)), vectors.catalogue.value)
    assert.deepEqual(openCatalogue(vectors.catalogue.pieces.map(bytes), bytes(vectors.master)), vectors.catalogue.value)
  })

  it('opens the manifest by the spec and by the implementation alike, and the catalogue points at its pieces', () => {
    const fileId = bytes(vectors.manifest.fileId)
    const aad = Buffer.concat([Buffer.from([1]), Buffer.from('quloud/v1/manifest-piece'), Buffer.from([0]), fileId])
    const opened = vectors.manifest.pieces.map((p) => openBySpec(bytes(vectors.manifest.fileRoot), 'quloud/v1/file/manifest-key', aad, bytes(p)))
    assert.deepEqual(opened.map((p) => [p.edition, p.generation, p.index, p.count]), opened.map((_, i) => [vectors.manifest.edition, 3, i, opened.length]))
    const body = Buffer.concat(opened.map((p) => p.body)).toString('utf8')
    assert.equal(body, vectors.manifest.encoded)
    assert.deepEqual(decodeManifest(Buffer.from(body)), vectors.manifest.value)
    assert.deepEqual(openManifest(vectors.manifest.pieces.map(bytes), bytes(vectors.manifest.fileRoot), fileId), vectors.manifest.value)
    const entry = vectors.catalogue.value.entries.find((e) => e.fileId === vectors.manifest.fileId)!
    assert.deepEqual(entry.manifest!.map((p) => p.id), vectors.manifest.pieces.map((p) => chunkIdOf(bytes(p))))
  })

  it('decodes the share code to the file id and root (share-code.test.ts checks the construction independently)', () => {
    const { fileId, fileRoot } = decodeShareCode(vectors.shareCode.code)
    assert.equal(Buffer.from(fileId).toString('hex'), vectors.shareCode.fileId)
    assert.equal(Buffer.from(fileRoot).toString('hex'), vectors.shareCode.fileRoot)
    assert.equal(encodeShareCode({ fileId, fileRoot }), vectors.shareCode.code)
  })
})
