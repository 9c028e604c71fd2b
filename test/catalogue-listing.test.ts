import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { CatalogueEntry, CatalogueGroup } from '../src/domain/formats/catalogue.ts'
import { listCatalogue } from '../src/domain/formats/catalogue-listing.ts'
import { summariseVersion, versionsOf } from '../src/domain/formats/catalogue-paths.ts'

const hex = (n: number): string => n.toString(16).padStart(32, '0')
let next = 1
function entry (name: string, kind: CatalogueEntry['kind'], group?: CatalogueGroup, extra: Partial<CatalogueEntry> = {}): CatalogueEntry {
  return { fileId: hex(next++), name, kind, size: kind === 'file' ? 10 : 0, mode: 0o644, mtimeMs: 0, ...(group === undefined ? {} : { group }), ...extra }
}

/** Version `version` of the tree `photos`: `files` files in photos/a, one file at its top. */
function treeVersion (version: number, files: number, kept: CatalogueEntry[] = []): CatalogueEntry[] {
  const group: CatalogueGroup = { id: `${version}`.padStart(32, 'f'), root: 'photos', ...(version > 1 ? { version } : {}), storedAt: version }
  const mine = (e: CatalogueEntry): CatalogueEntry => ({ ...e, group })
  return [
    entry('photos', 'directory', group),
    entry('photos/a', 'directory', group),
    ...kept.map(mine),
    ...Array.from({ length: files - kept.length }, (_, i) => entry(`photos/a/v${version}-${i}.jpg`, 'file', group, { size: 100 })),
    entry('photos/top.txt', 'file', group, { size: 7 })
  ]
}

describe('what ls lists (catalogue-listing.ts)', () => {
  const v1 = treeVersion(1, 50)
  const v2 = treeVersion(2, 50, v1.filter((e) => e.name.startsWith('photos/a/')).slice(0, 40))
  const v3 = treeVersion(3, 50, v2.filter((e) => e.name.startsWith('photos/a/')).slice(0, 45))
  const note1 = entry('note.txt', 'file', undefined, { size: 3 })
  const note2 = entry('note.txt', 'file', undefined, { size: 4, version: 2 })
  const all = [...v1, note1, ...v2, ...v3, note2]

  it('the top: the newest version of each name, a directory collapsed with the bytes below it and its version count', () => {
    const { top, entries } = listCatalogue(all)
    assert.equal(top, undefined)
    assert.deepEqual(entries.map((e) => [e.name, e.bytesBelow, e.filesBelow, e.versions, e.size]), [['photos', 50 * 100 + 7, 51, 3, 0], ['note.txt', undefined, undefined, 2, 4]])
    // only what is shown: not the 156 entries of the tree's three versions
    assert.equal(entries.length, 2)
  })

  it('with tree: every entry of the newest versions, nothing of older ones', () => {
    const { entries } = listCatalogue(all, { tree: true })
    assert.equal(entries.length, v3.length + 1)
    assert.ok(entries.every((e) => e.group === undefined ? e.version === 2 : e.group.version === 3))
    assert.equal(entries.find((e) => e.name === 'photos/a')?.bytesBelow, 50 * 100)
    assert.equal(entries.find((e) => e.name === 'photos/a')?.filesBelow, 50)
  })

  it('a PATH lists its first level in the newest version; a file lists itself', () => {
    const inside = listCatalogue(all, { ref: 'photos/' })
    assert.equal(inside.top?.name, 'photos')
    assert.equal(inside.top?.group?.version, 3)
    assert.deepEqual(inside.entries.map((e) => e.name).sort(), ['photos', 'photos/a', 'photos/top.txt'])
    const deep = listCatalogue(all, { ref: 'photos/a', tree: true })
    assert.equal(deep.entries.length, 51)
    assert.deepEqual(listCatalogue(all, { ref: 'photos/top.txt' }).entries.map((e) => e.name), ['photos/top.txt'])
  })

  it('an old version\'s id lists that snapshot, with its own sizes', () => {
    const old = listCatalogue(all, { ref: v1[0]!.group!.id, tree: true })
    assert.equal(old.top?.group?.version, undefined)
    assert.equal(old.entries.length, v1.length)
    assert.equal(old.entries.find((e) => e.name === 'photos')?.bytesBelow, 50 * 100 + 7)
    assert.equal(old.entries.find((e) => e.name === 'photos')?.versions, 3)
  })

  it('an empty catalogue lists nothing; an unknown PATH is NotFound', () => {
    assert.deepEqual(listCatalogue([]), { entries: [] })
    assert.throws(() => listCatalogue(all, { ref: 'nothing/here' }), { name: 'NotFoundError' })
  })

  it('the versions of a file inside a tree are listed by their counts; their entries (the whole tree each) only when asked', () => {
    const versions = versionsOf(all, 'photos/top.txt')
    assert.deepEqual(versions.map((v) => v.entries.length), [v1.length, v2.length, v3.length])
    const listed = versions.map((v) => summariseVersion(v, false))
    assert.deepEqual(listed.map((v) => [v.version, v.files, v.bytes, v.entries]), [[1, 51, 50 * 100 + 7, undefined], [2, 51, 50 * 100 + 7, undefined], [3, 51, 50 * 100 + 7, undefined]])
    assert.equal(summariseVersion(versions[0]!, true).entries, versions[0]!.entries)
  })
})
