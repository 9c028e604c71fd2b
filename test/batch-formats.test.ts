import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { decodeCatalogue, encodeCatalogue, validateCatalogue, type Catalogue, type CatalogueEntry } from '../src/domain/formats/catalogue.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { decodeManifest, encodeManifest, type Manifest } from '../src/domain/formats/manifest.ts'

const id = (n: number): string => chunkIdOf(Uint8Array.of(n))
const file = (extra: Partial<CatalogueEntry>): CatalogueEntry => ({
  fileId: '11'.repeat(16), name: 'a.txt', kind: 'file', size: 10, mode: 0o644, mtimeMs: 1, manifest: [{ id: id(1), holders: ['p1'] }], ...extra
})
const catalogue = (entry: CatalogueEntry, version: 2 | 3 | 4 = 3): Catalogue => ({ version, generation: 1, updatedAt: 1, entries: [entry] })

describe('batched files in the catalogue and the manifest', () => {
  it('a batched entry keeps its batch and its chunks through the encoding', () => {
    const entry = file({ size: 1024 * 1024 + 1, batch: 'ab'.repeat(16), chunks: [{ id: id(2), holders: ['p1', 'p2'] }, { id: id(3), holders: [] }] })
    const back = decodeCatalogue(encodeCatalogue(catalogue(entry))).entries[0]!
    assert.equal(back.batch, entry.batch)
    assert.deepEqual(back.chunks, entry.chunks)
  })

  it('refuses a batch without chunks, chunks without a batch, the wrong chunk count, a batched directory and batches in version 2', () => {
    const batch = 'ab'.repeat(16)
    for (const bad of [
      catalogue(file({ batch })),
      catalogue(file({ chunks: [{ id: id(2), holders: [] }] })),
      catalogue(file({ batch, chunks: [] })),
      catalogue(file({ batch, chunks: [{ id: id(2), holders: [] }, { id: id(3), holders: [] }] })),
      catalogue(file({ batch, chunks: [{ id: id(2), holders: [] }], size: 17 * 1024 * 1024 })),
      catalogue(file({ batch: 'AB'.repeat(16), chunks: [{ id: id(2), holders: [] }] })),
      catalogue({ fileId: '22'.repeat(16), name: 'd', kind: 'directory', size: 0, mode: 0o755, mtimeMs: 1, batch, chunks: [] }),
      catalogue(file({ batch, chunks: [{ id: id(2), holders: [] }] }), 2)
    ]) assert.throws(() => validateCatalogue(bad), { name: 'InvalidCatalogueError' })
  })

  it('version 4: a batched file may have no manifest (until shared); a file outside a batch, or of version 3, has one', () => {
    const batch = 'ab'.repeat(16)
    const { manifest: _, ...bare } = file({ batch, chunks: [{ id: id(2), holders: ['p1'] }] })
    const back = decodeCatalogue(encodeCatalogue(catalogue(bare, 4))).entries[0]!
    assert.equal(back.manifest, undefined)
    assert.deepEqual(back.chunks, bare.chunks)
    // once shared it has both, and the two round-trip
    const shared = file({ batch, chunks: [{ id: id(2), holders: ['p1'] }] })
    assert.deepEqual(decodeCatalogue(encodeCatalogue(catalogue(shared, 4))).entries[0]!.manifest, shared.manifest)
    const { manifest: __, ...unbatched } = file({})
    for (const bad of [catalogue(bare, 3), catalogue(unbatched, 4), catalogue({ ...bare, manifest: [] }, 4)]) {
      assert.throws(() => validateCatalogue(bad), { name: 'InvalidCatalogueError' })
    }
  })

  it('version 4: a file may carry a stat stamp of 32 hex digits; not a directory, not version 3', () => {
    const stamped = file({ statStamp: 'ab'.repeat(16) })
    assert.equal(decodeCatalogue(encodeCatalogue(catalogue(stamped, 4))).entries[0]!.statStamp, 'ab'.repeat(16))
    for (const bad of [
      catalogue(stamped, 3),
      catalogue(file({ statStamp: 'ab'.repeat(15) }), 4),
      catalogue(file({ statStamp: 'AB'.repeat(16) }), 4),
      catalogue({ fileId: '22'.repeat(16), name: 'd', kind: 'directory', size: 0, mode: 0o755, mtimeMs: 1, statStamp: 'ab'.repeat(16) }, 4)
    ]) assert.throws(() => validateCatalogue(bad), { name: 'InvalidCatalogueError' })
  })

  it('a manifest of a batched file carries the batch\'s read secret, and a malformed one is refused', () => {
    const manifest: Manifest = {
      version: 2, fileId: '11'.repeat(16), revision: 1, name: 'a.txt', kind: 'file', size: 3, mode: 0o644, mtimeMs: 1, chunkSize: 1024 * 1024,
      chunks: [{ id: id(4), size: 3 }], holders: [['p1']], deleteCommitment: '5', writer: '00'.repeat(32), receipts: [], dataSecret: '12345'
    }
    assert.equal(decodeManifest(encodeManifest(manifest)).dataSecret, '12345')
    const { dataSecret: _, ...plain } = manifest
    assert.equal(decodeManifest(encodeManifest(plain)).dataSecret, undefined)
    for (const dataSecret of ['-1', '0x10', 'x', '21888242871839275222246405745257275088548364400416034343698204186575808495617']) {
      assert.throws(() => encodeManifest({ ...manifest, dataSecret }), { name: 'InvalidManifestError' }, dataSecret)
    }
  })
})
