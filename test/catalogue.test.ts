import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import {
  chooseNewestCatalogue, decodeCatalogue, emptyCatalogue, encodeCatalogue, newCatalogueGroup, newestCatalogue, nextGeneration,
  CATALOGUE_SIGNATURE_LABEL, cataloguePieceAad, MAX_SHARES_PER_FILE, openCatalogue, sealCatalogue, sealNextGeneration, validateCatalogue,
  type Catalogue, type CatalogueEntry
} from '../src/domain/formats/catalogue.ts'
import { catalogueKey, catalogueWriteKeySeed } from '../src/domain/crypto/key-derivation.ts'
import { writeKeyOf, type WriteKey } from '../src/domain/capabilities/file-capabilities.ts'
import { signBody } from '../src/domain/capabilities/signed-body.ts'
import { MANIFEST_SIGNATURE_LABEL } from '../src/domain/formats/manifest.ts'
import { fileIdToString, newFileId } from '../src/domain/formats/file-id.ts'
import { generateMasterSecret } from '../src/domain/crypto/master-secret.ts'
import { fakeChunkId, fakePeerId, sealRawPieces } from './helpers/owner-fixtures.ts'

const invalid = { name: 'InvalidCatalogueError', code: 'invalid-catalogue' }
const pool = Array.from({ length: 10 }, fakePeerId)

function fileEntry (name: string, extra: Partial<CatalogueEntry> = {}): CatalogueEntry {
  return {
    fileId: fileIdToString(newFileId()), name, kind: 'file', size: 12345, mode: 0o644, mtimeMs: 1_700_000_000_000.5,
    manifest: [{ id: fakeChunkId(), holders: [pool[0]!, pool[1]!, pool[2]!] }],
    ...extra
  }
}

/** The sample with a link `photos/cover -> a.jpg` and a content hash on photos/a.jpg (version 3). */
function withLinkAndHash (): Catalogue {
  const c = sample()
  const group = c.entries[0]!.group!
  c.entries[1] = { ...c.entries[1]!, contentHash: 'cd'.repeat(32) }
  c.entries.push({ fileId: fileIdToString(newFileId()), name: 'photos/cover', kind: 'symlink', size: 0, mode: 0o777, mtimeMs: 3, target: 'a.jpg', group })
  return c
}

/** `put ~/photos` of a.jpg, 2024/b.jpg and an empty directory, plus `put notes.txt`. */
function sample (): Catalogue {
  const group = newCatalogueGroup('photos')
  const entries: CatalogueEntry[] = [
    { fileId: fileIdToString(newFileId()), name: 'photos', kind: 'directory', size: 0, mode: 0o755, mtimeMs: 1, group },
    fileEntry('photos/a.jpg', { group }),
    fileEntry('photos/2024/b.jpg', { group, manifest: [{ id: fakeChunkId(), holders: [pool[3]!] }, { id: fakeChunkId(), holders: [] }] }),
    { fileId: fileIdToString(newFileId()), name: 'photos/empty', kind: 'directory', size: 0, mode: 0o700, mtimeMs: 2, group },
    fileEntry('notes.txt', { shares: [{ label: 'Alice', createdAt: 1_700_000_000_000 }, { label: '', createdAt: 1_700_000_100_000, expiresAt: 1_700_086_500_000 }] })
  ]
  return nextGeneration(emptyCatalogue(1000), entries, 2000)
}

const wireOf = (c: Catalogue): Record<string, any> => JSON.parse(Buffer.from(encodeCatalogue(c)).toString())

/** Pieces under `master`'s catalogue key holding `body`, however it is signed. */
const sealBody = (master: Uint8Array, body: Uint8Array, generation: number): Uint8Array[] =>
  sealRawPieces(catalogueKey(master), cataloguePieceAad(), body, generation)
const signedBy = (key: WriteKey, c: Catalogue, label = CATALOGUE_SIGNATURE_LABEL): Uint8Array => signBody(label, key, encodeCatalogue(c))

describe('catalogue', () => {
  it('starts empty at generation 0 and moves one generation per change, never back in time', () => {
    const empty = emptyCatalogue(5000)
    assert.deepEqual(empty, { version: 4, generation: 0, updatedAt: 5000, entries: [] })
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
    assert.deepEqual(Object.keys(wire.entries[1]), ['fileId', 'name', 'kind', 'size', 'mode', 'mtimeMs', 'group', 'manifest'])
    assert.deepEqual(Object.keys(wire.entries[4]), ['fileId', 'name', 'kind', 'size', 'mode', 'mtimeMs', 'shares', 'manifest'], 'the order writers emit')
    assert.equal(wire.entries[4].group, undefined)
    assert.deepEqual(wire.entries[4].shares, catalogue.entries[4]!.shares)
    assert.equal(wire.entries[1].shares, undefined, 'shares is optional')
    assert.equal(wire.peers.length, 4)
  })

  it('round-trips links and content hashes (version 3 on) and still reads version 2', () => {
    const catalogue = withLinkAndHash()
    assert.equal(catalogue.version, 4)
    assert.deepEqual(decodeCatalogue(encodeCatalogue(catalogue)), catalogue)
    const wire = wireOf(catalogue)
    assert.deepEqual(Object.keys(wire.entries[5]), ['fileId', 'name', 'kind', 'size', 'mode', 'mtimeMs', 'target', 'group'])
    assert.deepEqual(Object.keys(wire.entries[1]), ['fileId', 'name', 'kind', 'size', 'mode', 'mtimeMs', 'contentHash', 'group', 'manifest'])
    const old = wireOf(sample())
    old.version = 2
    assert.equal(decodeCatalogue(Buffer.from(JSON.stringify(old))).version, 2)
    // links may point anywhere: a restore makes the link and never follows it
    for (const target of ['/etc/passwd', '../../outside', 'dangling', 'sp ace/ü']) {
      const w = wireOf(catalogue)
      w.entries[5].target = target
      assert.equal(decodeCatalogue(Buffer.from(JSON.stringify(w))).entries[5]!.target, target)
    }
  })

  it('versions: a file kept unchanged is one file id in two snapshots, and nothing else may repeat one', () => {
    const c = withLinkAndHash()
    const v1 = c.entries.slice(0, 4)
    const group = { ...v1[0]!.group!, id: 'ee'.repeat(16), version: 2, storedAt: 1_700_000_000_000 }
    const v2 = v1.map((e) => ({ ...e, group, ...(e.kind === 'directory' ? { fileId: fileIdToString(newFileId()) } : {}) }))
    const both = validateCatalogue({ ...c, entries: [...c.entries, ...v2] })
    assert.equal(both.entries.filter((e) => e.fileId === v1[1]!.fileId).length, 2)
    assert.deepEqual(decodeCatalogue(encodeCatalogue(both)), both)
    const changed = v2.map((e, i) => i === 1 ? { ...e, mtimeMs: e.mtimeMs + 1 } : e)
    assert.throws(() => validateCatalogue({ ...c, entries: [...c.entries, ...changed] }), invalid, 'a changed file is a new file id')
    const single = { ...c.entries[4]!, version: 2, storedAt: 5 }
    assert.equal(validateCatalogue({ ...c, entries: [...c.entries, single] }).entries.length, 7)
    assert.throws(() => validateCatalogue({ ...c, entries: [...c.entries, { ...single, version: 1 }] }), invalid, 'the same version twice')
  })

  it('refuses every malformed field and every inconsistency', () => {
    const mutations: Array<[string, (w: Record<string, any>) => void]> = [
      ['version 1', (w) => { w.version = 1 }],
      ['version 5', (w) => { w.version = 5 }],
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
      ['mode too large', (w) => { w.entries[1].mode = 0o10000 }],
      ['shares not a list', (w) => { w.entries[4].shares = { label: 'x', createdAt: 1 } }],
      ['share without createdAt', (w) => { delete w.entries[4].shares[0].createdAt }],
      ['share with an unknown field', (w) => { w.entries[4].shares[0].code = 'Q2-…' }],
      ['share label too long', (w) => { w.entries[4].shares[0].label = 'x'.repeat(201) }],
      ['share label a number', (w) => { w.entries[4].shares[0].label = 7 }],
      ['share expiry fractional', (w) => { w.entries[4].shares[1].expiresAt = 1.5 }],
      ['share createdAt negative', (w) => { w.entries[4].shares[0].createdAt = -1 }],
      ['too many shares', (w) => { w.entries[4].shares = Array.from({ length: MAX_SHARES_PER_FILE + 1 }, () => ({ label: '', createdAt: 1 })) }],
      ['link without a target', (w) => { w.entries[5].target = undefined }],
      ['link with an empty target', (w) => { w.entries[5].target = '' }],
      ['link target with NUL', (w) => { w.entries[5].target = 'a\0b' }],
      ['link with a size', (w) => { w.entries[5].size = 3 }],
      ['link with a manifest', (w) => { w.entries[5].manifest = w.entries[1].manifest }],
      ['link with shares', (w) => { w.entries[5].shares = [{ label: '', createdAt: 1 }] }],
      ['file with a target', (w) => { w.entries[1].target = 'a.jpg' }],
      ['directory with a content hash', (w) => { w.entries[0].contentHash = 'ab'.repeat(32) }],
      ['content hash short', (w) => { w.entries[1].contentHash = 'ab'.repeat(31) }],
      ['content hash upper case', (w) => { w.entries[1].contentHash = 'AB'.repeat(32) }],
      ['link in version 2', (w) => { w.version = 2; delete w.entries[1].contentHash }],
      ['content hash in version 2', (w) => { w.version = 2; w.entries.splice(5, 1) }],
      ['file below a link of its group', (w) => { w.entries[2].name = 'photos/cover/b.jpg' }],
      ['directory below a file of its group', (w) => { w.entries[3].name = 'photos/a.jpg/empty' }],
      ['one entry of a group with another version', (w) => { w.entries[1].group.version = 2 }],
      ['a version on an entry of a group', (w) => { w.entries[1].version = 2 }],
      ['version 0', (w) => { w.entries[4].version = 0 }],
      ['version in version 2', (w) => { w.version = 2; w.entries.splice(5, 1); delete w.entries[1].contentHash; w.entries[4].version = 2 }],
      ['a file id repeated in one group', (w) => { w.entries[2].fileId = w.entries[1].fileId }],
      ['a file id repeated under another name', (w) => { w.entries[4].fileId = w.entries[1].fileId }]
    ]
    for (const [what, mutate] of mutations) {
      const wire = wireOf(withLinkAndHash())
      mutate(wire)
      assert.throws(() => decodeCatalogue(Buffer.from(JSON.stringify(wire))), invalid, what)
    }
    assert.throws(() => decodeCatalogue(Buffer.from('{"version":2')), invalid)
    const most = wireOf(sample())
    most.entries[4].shares = Array.from({ length: MAX_SHARES_PER_FILE }, () => ({ label: 'x'.repeat(200), createdAt: 1 }))
    assert.equal(decodeCatalogue(Buffer.from(JSON.stringify(most))).entries[4]!.shares!.length, MAX_SHARES_PER_FILE)
    // a directory's shares are shares of its whole tree
    const tree = wireOf(sample())
    tree.entries[0].shares = [{ label: 'family', createdAt: 5 }]
    assert.deepEqual(decodeCatalogue(Buffer.from(JSON.stringify(tree))).entries[0]!.shares, [{ label: 'family', createdAt: 5 }])
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

  it('the next generation sealed in one go is the next generation, sealed; an invalid entry is refused before anything is sealed', () => {
    const master = generateMasterSecret()
    const previous = sample()
    const entries = [...previous.entries, fileEntry('later.txt')]
    const { catalogue, pieces } = sealNextGeneration(previous, entries, 1500, master)
    assert.deepEqual(catalogue, nextGeneration(previous, entries, 1500))
    assert.equal(catalogue.updatedAt, 2000, 'never back in time')
    assert.deepEqual(openCatalogue(pieces, master), catalogue)
    assert.notEqual(catalogue.entries, entries, 'a fresh copy, as validateCatalogue gives')
    const bad = [...previous.entries, fileEntry('../escape.txt')]
    assert.throws(() => sealNextGeneration(previous, bad, 3000, master), invalid)
    const twice = [...previous.entries, { ...previous.entries[1]! }]
    assert.throws(() => sealNextGeneration(previous, twice, 3000, master), invalid)
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

  it('believes only generations signed with the owner\'s catalogue write key, whatever generation they claim', () => {
    const master = generateMasterSecret()
    const honest = sample()
    const forged = { ...nextGeneration(honest, [], 9000), generation: 50 }
    const owner = writeKeyOf(catalogueWriteKeySeed(master))
    assert.deepEqual(openCatalogue(sealBody(master, signedBy(owner, honest), honest.generation), master), honest, 'the owner\'s signature opens')
    const other = writeKeyOf(randomBytes(32))
    const tampered = signedBy(owner, forged)
    tampered[tampered.byteLength - 1]! ^= 0x80
    const bad = [
      signedBy(other, forged), // another key
      tampered, // a changed signature byte
      signedBy(owner, forged, MANIFEST_SIGNATURE_LABEL), // the owner's key, but under the manifest label
      Buffer.concat([encodeCatalogue(forged), new Uint8Array(64)]), // no signature, zeros in its place
      new Uint8Array(10) // too short to hold one
    ]
    for (const body of bad) {
      assert.throws(() => openCatalogue(sealBody(master, body, 50), master), { name: 'CatalogueSignatureError', code: 'catalogue-signature' })
    }
    const bag = [...sealCatalogue(honest, master), ...bad.flatMap((body) => sealBody(master, body, 50))]
    assert.deepEqual(newestCatalogue(bag, master), honest)
    // signed by the owner but sealed under another generation than it states
    assert.throws(() => openCatalogue(sealBody(master, signedBy(owner, honest), honest.generation + 1), master), { ...invalid, message: /generation differs/ })
  })
})
