import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { catalogueVersionFor, decodeCatalogue, encodeCatalogue, emptyCatalogue, nextGeneration, validateCatalogue, type Catalogue, type CatalogueEntry } from '../src/domain/formats/catalogue.ts'
import { applyDelta, decodeGenerationDocument, deltaVersionFor, diffEntries, encodeDelta, type CatalogueDelta } from '../src/domain/formats/catalogue-delta.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { OWNER_CHUNK_OVERHEAD } from '../src/domain/crypto/owner-layer.ts'
import { buildPack, PACK_MAX_BYTES, PACKED_CHUNK_MAX_BYTES, sliceOfPack, type PackRef } from '../src/domain/formats/pack.ts'

const batch = 'ab'.repeat(16)
const sealedOf = (size: number): Uint8Array => randomBytes(size + OWNER_CHUNK_OVERHEAD)
const packedFile = (n: number, chunk: Uint8Array, pack: PackRef, holders = ['p1', 'p2']): CatalogueEntry => ({
  fileId: n.toString(16).padStart(32, '0'), name: `f${n}.txt`, kind: 'file', size: chunk.byteLength - OWNER_CHUNK_OVERHEAD, mode: 0o644, mtimeMs: 1,
  batch, chunks: [{ id: chunkIdOf(chunk), holders, pack }]
})
const catalogue = (entries: CatalogueEntry[], version: Catalogue['version'] = 6): Catalogue => ({ version, generation: 1, updatedAt: 1, entries })

describe('packs', () => {
  it('a pack is its chunks one after the other; each slice is the chunk it was built from', () => {
    const sealed = [sealedOf(10), sealedOf(20_000), sealedOf(0)]
    const pack = buildPack(sealed)
    assert.equal(pack.bytes.byteLength, sealed.reduce((n, c) => n + c.byteLength, 0))
    assert.equal(pack.id, chunkIdOf(pack.bytes))
    pack.refs.forEach((ref, i) => assert.ok(Buffer.from(sliceOfPack(pack.bytes, ref, chunkIdOf(sealed[i]!))).equals(sealed[i]!)))
  })

  it('refuses a pack of one chunk, a chunk over the packed size and a pack over its size', () => {
    assert.throws(() => buildPack([sealedOf(1)]), { name: 'InvalidPackError' })
    assert.throws(() => buildPack([sealedOf(1), randomBytes(PACKED_CHUNK_MAX_BYTES + 1)]), { name: 'InvalidPackError' })
    assert.throws(() => buildPack(Array.from({ length: 5 }, () => randomBytes(PACKED_CHUNK_MAX_BYTES))), { name: 'InvalidPackError' })
  })

  it('a slice that runs past the pack, or whose bytes are not its chunk, is refused: a holder cannot swap or change one', () => {
    const sealed = [sealedOf(10), sealedOf(30)]
    const pack = buildPack(sealed)
    const [first, second] = pack.refs as [PackRef, PackRef]
    assert.throws(() => sliceOfPack(pack.bytes.subarray(0, pack.bytes.byteLength - 1), second, chunkIdOf(sealed[1]!)), { name: 'InvalidPackError' })
    assert.throws(() => sliceOfPack(pack.bytes, first, chunkIdOf(sealed[1]!)), { name: 'InvalidPackError' }, 'another slice')
    const flipped = Uint8Array.from(pack.bytes)
    flipped[second.offset] = flipped[second.offset]! ^ 1
    assert.throws(() => sliceOfPack(flipped, second, chunkIdOf(sealed[1]!)), { name: 'InvalidPackError' }, 'one byte changed')
    assert.throws(() => sliceOfPack(pack.bytes, { ...second, offset: second.offset + 1 }, chunkIdOf(sealed[1]!)), { name: 'InvalidPackError' })
  })
})

describe('catalogue version 6: packed files', () => {
  const sealed = [sealedOf(100), sealedOf(2000)]
  const pack = buildPack(sealed)
  const entries = sealed.map((chunk, i) => packedFile(i + 1, chunk, pack.refs[i]!))

  it('a packed file keeps its slice through the encoding, and the catalogue is written at version 6', () => {
    const back = decodeCatalogue(encodeCatalogue(catalogue(entries)))
    assert.deepEqual(back.entries.map((e) => e.chunks), entries.map((e) => e.chunks))
    assert.equal(catalogueVersionFor(entries), 6)
    assert.equal(nextGeneration(emptyCatalogue(1), entries, 2).version, 6)
    // never back from 6, so that a chain's deltas keep one version; 4 without packs
    assert.equal(nextGeneration(catalogue(entries), [], 3).version, 6)
    assert.equal(nextGeneration(emptyCatalogue(1), [], 2).version, 4)
  })

  it('refuses a pack before version 6, a slice of the wrong length, past a pack, of a file of two chunks, and a pack that is its own chunk', () => {
    const [one] = entries as [CatalogueEntry]
    const ref = one.chunks![0]!
    const withPack = (pack: PackRef, extra: Partial<CatalogueEntry> = {}): CatalogueEntry => ({ ...one, chunks: [{ ...ref, pack }], ...extra })
    for (const [bad, why] of [
      [catalogue([one], 4), 'version 4'],
      [catalogue([withPack({ ...ref.pack!, length: ref.pack!.length + 1 })]), 'length'],
      [catalogue([withPack({ ...ref.pack!, offset: PACK_MAX_BYTES - 10 })]), 'past a pack'],
      [catalogue([withPack({ ...ref.pack!, id: ref.id })]), 'its own chunk'],
      [catalogue([{ ...one, size: 1024 * 1024 + 1, chunks: [ref, { id: chunkIdOf(Uint8Array.of(9)), holders: ['p1'] }] }]), 'two chunks']
    ] as Array<[Catalogue, string]>) assert.throws(() => validateCatalogue(bad), { name: 'InvalidCatalogueError' }, why)
    // a file too large to pack: its sealed chunk is over the packed size
    const big = randomBytes(PACKED_CHUNK_MAX_BYTES + 1)
    assert.throws(() => validateCatalogue(catalogue([packedFile(7, big, { id: pack.id, offset: 0, length: big.byteLength })])), { name: 'InvalidCatalogueError' })
  })

  it('a delta of version 6 adds packed files to a version 4 catalogue; one of version 5 cannot, and no delta takes a version 6 catalogue back to 4', () => {
    const parent = nextGeneration(emptyCatalogue(1), [], 2)
    assert.equal(parent.version, 4)
    const delta = (version: CatalogueDelta['version'], from: Catalogue, next: CatalogueEntry[]): CatalogueDelta => {
      const { groups, ops } = diffEntries(from.entries, next)
      const ref = { generation: from.generation, edition: 'cd'.repeat(16) }
      return { version, kind: 'delta', generation: from.generation + 1, updatedAt: 3, base: ref, parent: ref, groups, ops }
    }
    assert.equal(deltaVersionFor(entries, parent.version), 6)
    const read = decodeGenerationDocument(encodeDelta(delta(6, parent, entries)))
    assert.equal(read.kind, 'delta')
    const child = applyDelta(parent, (read as { delta: CatalogueDelta }).delta)
    assert.equal(child.version, 6)
    assert.deepEqual(child.entries.map((e) => e.chunks), entries.map((e) => e.chunks))
    assert.throws(() => decodeGenerationDocument(encodeDelta(delta(5, parent, entries))), { name: 'InvalidCatalogueError' }, 'a packed entry under version 4 rules')
    assert.equal(deltaVersionFor([], 6), 6)
    assert.throws(() => applyDelta(child, delta(5, child, [])), { name: 'InvalidCatalogueError' }, 'back to version 4')
  })
})
