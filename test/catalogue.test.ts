import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import {
  chooseNewestCatalogue, decodeCatalogue, emptyCatalogue, encodeCatalogue, newCatalogueGroup, newestCatalogue, nextGeneration,
  openCatalogue, sealCatalogue, validateCatalogue, type Catalogue, type CatalogueEntry
} from '../src/domain/formats/catalogue.ts'
import { fileIdToString, newFileId } from '../src/domain/formats/file-id.ts'
import { generateMasterSecret } from '../src/domain/crypto/master-secret.ts'
import { fakeChunkId, fakePeerId } from './helpers/owner-fixtures.ts'

const invalid = { name: 'InvalidCatalogueError', code: 'invalid-catalogue' }
const pool = Array.from({ length: 10 }, fakePeerId)

function fileEntry (name: string, extra: Partial<CatalogueEntry> = {}): CatalogueEntry {
  return {
    fileId: fileIdToString(newFileId()), name, kind: 'file', size: 12345, mode: 0o644, mtimeMs: 1_700_000_000_000.5,
    manifest: [{ id: fakeChunkId(), holders: [pool[0]!, pool[1]!, pool[2]!] }],
    ...extra
  }
}

/** `put ~/photos` of a.jpg, 2024/b.jpg and an empty directory, plus `put notes.txt`. */
function sample (): Catalogue {
  const group = newCatalogueGroup('photos')
  const entries: CatalogueEntry[] = [
    { fileId: fileIdToString(newFileId()), name: 'photos', kind: 'directory', size: 0, mode: 0o755, mtimeMs: 1, group },
    fileEntry('photos/a.jpg', { group }),
    fileEntry('photos/2024/b.jpg', { group, manifest: [{ id: fakeChunkId(), holders: [pool[3]!] }, { id: fakeChunkId(), holders: [] }] }),
    { fileId: fileIdToString(newFileId()), name: 'photos/empty', kind: 'directory', size: 0, mode: 0o700, mtimeMs: 2, group },
    fileEntry('notes.txt')
  ]
  return nextGeneration(emptyCatalogue(1000), entries, 2000)
}

const wireOf = (c: Catalogue): Record<string, any> => JSON.parse(Buffer.from(encodeCatalogue(c)).toString())

describe('catalogue', () => {
  it('starts empty at generation 0 and moves one generation per change, never back in time', () => {
    const empty = emptyCatalogue(5000)
    assert.deepEqual(empty, { version: 1, generation: 0, updatedAt: 5000, entries: [] })
    const one = nextGeneration(empty, [fileEntry('a')], 4000) // a clock that went back
    assert.equal(one.generation, 1)
    assert.equal(one.updatedAt, 5000)
    assert.equal(nextGeneration(one, [], 9000).generation, 2)
  })

  it('round-trips files, directory groups and empty directories, holding no key', () => {
    const catalogue = sample()
    assert.deepEqual(decodeCatalogue(encodeCatalogue(catalogue)), catalogue)
    assert.deepEqual(validateCatalogue(catalogue), catalogue)
    const wire = wireOf(catalogue)
    assert.deepEqual(Object.keys(wire), ['version', 'generation', 'updatedAt', 'peers', 'entries'])
    assert.deepEqual(Object.keys(wire.entries[1]).sort(), ['fileId', 'group', 'kind', 'manifest', 'mode', 'mtimeMs', 'name', 'size'])
    assert.equal(wire.entries[4].group, undefined)
    assert.equal(wire.peers.length, 4)
  })

  it('refuses every malformed field and every inconsistency', () => {
    const mutations: Array<[string, (w: Record<string, any>) => void]> = [
      ['version 2', (w) => { w.version = 2 }],
      ['unknown field', (w) => { w.fileRoot = 'aa' }],
      ['unknown entry field', (w) => { w.entries[1].fileRoot = 'aa'.repeat(32) }],
      ['generation negative', (w) => { w.generation = -1 }],
      ['updatedAt fractional', (w) => { w.updatedAt = 1.5 }],
      ['repeated file id', (w) => { w.entries[2].fileId = w.entries[1].fileId }],
      ['bad file id', (w) => { w.entries[1].fileId = 'xyz' }],
      ['bad name', (w) => { w.entries[4].name = '../notes.txt' }],
      ['kind link', (w) => { w.entries[4].kind = 'link' }],
      ['directory with a size', (w) => { w.entries[0].size = 1 }],
      ['directory with a manifest', (w) => { w.entries[0].manifest = w.entries[1].manifest }],
      ['file without a manifest', (w) => { delete w.entries[4].manifest }],
      ['file with an empty manifest', (w) => { w.entries[4].manifest = [] }],
      ['manifest piece repeated', (w) => { w.entries[2].manifest[1][0] = w.entries[2].manifest[0][0] }],
      ['manifest piece not a chunk id', (w) => { w.entries[4].manifest[0][0] = 'QmFoo' }],
      ['manifest holder out of range', (w) => { w.entries[4].manifest[0][1] = [99] }],
      ['name outside its group root', (w) => { w.entries[1].name = 'pictures/a.jpg' }],
      ['name a prefix of the root', (w) => { w.entries[1].name = 'photosx/a.jpg' }],
      ['group root with a slash', (w) => { for (const e of w.entries.slice(0, 4)) e.group.root = 'photos/2024'; w.entries[0].name = 'photos/2024' }],
      ['group roots disagree', (w) => { w.entries[4].group = { id: w.entries[0].group.id, root: 'notes.txt' } }],
      ['name twice in a group', (w) => { w.entries[2].name = 'photos/a.jpg' }],
      ['group id short', (w) => { w.entries[1].group.id = 'ab' }],
      ['unused peer', (w) => { w.peers.push(fakePeerId()) }],
      ['mode too large', (w) => { w.entries[1].mode = 0o10000 }]
    ]
    for (const [what, mutate] of mutations) {
      const wire = wireOf(sample())
      mutate(wire)
      assert.throws(() => decodeCatalogue(Buffer.from(JSON.stringify(wire))), invalid, what)
    }
    assert.throws(() => decodeCatalogue(Buffer.from('{"version":1')), invalid)
    assert.throws(() => newCatalogueGroup('a/b'), invalid)
    assert.throws(() => newCatalogueGroup('..'), invalid)
    // the same names twice outside groups is fine: two puts of notes.txt
    assert.equal(validateCatalogue({ ...sample(), entries: [fileEntry('notes.txt'), fileEntry('notes.txt')] }).entries.length, 2)
  })

  it('seals under the owner catalogue key only, in pieces of at most 1 MiB', () => {
    const master = generateMasterSecret()
    const catalogue = sample()
    const pieces = sealCatalogue(catalogue, master)
    assert.equal(pieces.length, 1)
    assert.deepEqual(openCatalogue(pieces, master), catalogue)
    assert.throws(() => openCatalogue(pieces, generateMasterSecret()), { name: 'CatalogueDecryptionError', code: 'catalogue-decryption' })
    const large = { ...catalogue, entries: Array.from({ length: 6000 }, (_, i) => fileEntry(`dir/${'n'.repeat(200)}-${i}`)) }
    const many = sealCatalogue(large, master)
    assert.ok(many.length >= 2)
    assert.deepEqual(openCatalogue(many.reverse(), master), large)
    assert.throws(() => openCatalogue(many.slice(1), master), invalid)
  })

  it('recovers the newest valid catalogue from everything holders return', () => {
    const master = generateMasterSecret()
    const g1 = sample()
    const g2 = nextGeneration(g1, g1.entries.slice(1), 3000)
    const g3 = nextGeneration(g2, [], 4000)
    const stray = [randomBytes(200), ...sealCatalogue(sample(), generateMasterSecret())]
    const bag = [...sealCatalogue(g1, master), ...sealCatalogue(g2, master), ...sealCatalogue(g2, master), ...stray]
    assert.deepEqual(newestCatalogue(bag, master), g2)
    assert.deepEqual(newestCatalogue([...bag, ...sealCatalogue(g3, master)], master), g3)
    assert.equal(newestCatalogue(stray, master), undefined)
    assert.equal(newestCatalogue([], master), undefined)
  })

  it('chooses the highest generation, then the latest update; two recoveries racing to one generation', () => {
    const a = { ...sample(), generation: 7, updatedAt: 100 }
    const b = { ...sample(), generation: 7, updatedAt: 200 }
    const c = { ...sample(), generation: 6, updatedAt: 900 }
    assert.equal(chooseNewestCatalogue([a, b, c]), b)
    assert.equal(chooseNewestCatalogue([c, b, a]), b)
    assert.equal(chooseNewestCatalogue([c]), c)
    assert.equal(chooseNewestCatalogue([]), undefined)
    const master = generateMasterSecret()
    const pieces = [...sealCatalogue(b, master), ...sealCatalogue(a, master), ...sealCatalogue(c, master)]
    assert.deepEqual(newestCatalogue(pieces, master), b)
  })
})
