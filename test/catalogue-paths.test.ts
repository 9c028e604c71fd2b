import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { CatalogueEntry } from '../src/domain/formats/catalogue.ts'
import { idOf, normaliseReference, resolveReference } from '../src/domain/formats/catalogue-paths.ts'
import { naturalCompare } from '../src/domain/formats/natural-sort.ts'

const hex = (n: number, fill = '0'): string => n.toString(16).padStart(32, fill)
let next = 1
function entry (name: string, kind: CatalogueEntry['kind'], group?: { id: string, root: string }, fileId = hex(next++)): CatalogueEntry {
  return { fileId, name, kind, size: kind === 'file' ? 10 : 0, mode: 0o644, mtimeMs: 0, ...(group === undefined ? {} : { group }), ...(kind === 'symlink' ? { target: 'x' } : {}) }
}

const album = { id: 'a1b2c3d4'.repeat(4), root: 'album' }
const again = { id: 'f0f0f0f0'.repeat(4), root: 'again' }
const catalogue: CatalogueEntry[] = [
  entry('album', 'directory', album),
  entry('album/photos', 'directory', album),
  entry('album/photos/IMG_0002.jpg', 'file', album, 'deadbeef00000000000000000000aaaa'),
  entry('album/photos/IMG_0010.jpg', 'file', album),
  entry('album/photos/cover', 'symlink', album),
  entry('album/photosx', 'directory', album),
  entry('album/photosx/z.txt', 'file', album),
  entry('again', 'directory', again),
  entry('notes.txt', 'file', undefined, 'deadbeef00000000000000000000bbbb'),
  entry('twice.txt', 'file'),
  entry('twice.txt', 'file')
]
const names = (ref: string): string[] => resolveReference(catalogue, ref).entries.map((e) => e.name)

describe('resolving what `ls` prints', () => {
  it('a file inside a put directory, by the path ls prints', () => {
    assert.deepEqual(names('album/photos/IMG_0002.jpg'), ['album/photos/IMG_0002.jpg'])
  })

  it('a sub-directory with or without a trailing slash, and nothing of a sibling that only starts like it', () => {
    const expected = ['album/photos', 'album/photos/IMG_0002.jpg', 'album/photos/IMG_0010.jpg', 'album/photos/cover']
    assert.deepEqual(names('album/photos'), expected)
    assert.deepEqual(names('album/photos/'), expected)
    assert.deepEqual(names('./album//photos/'), expected)
  })

  it('a whole put by its name or its group id, and a directory by its own id', () => {
    assert.equal(names('album').length, 7)
    assert.equal(names(album.id).length, 7)
    assert.equal(names('album/').length, 7)
    assert.deepEqual(names(catalogue[1]!.fileId), names('album/photos'))
  })

  it('unique id prefixes of 8 hex digits or more; shorter ones are names only', () => {
    assert.deepEqual(names('a1b2c3d4'), names('album'))
    assert.deepEqual(names('DEADBEEF00000000000000000000AAAA'), ['album/photos/IMG_0002.jpg'])
    assert.throws(() => resolveReference(catalogue, 'a1b2c3d'), { name: 'NotFoundError' })
  })

  it('an ambiguous prefix or name is a typed error listing every candidate with its id', () => {
    assert.throws(() => resolveReference(catalogue, 'deadbeef'), (err: Error) => {
      assert.equal(err.name, 'AmbiguousNameError')
      assert.match(err.message, /deadbeef00000000000000000000aaaa {2}album\/photos\/IMG_0002\.jpg/)
      assert.match(err.message, /deadbeef00000000000000000000bbbb {2}notes\.txt/)
      return true
    })
    assert.throws(() => resolveReference(catalogue, 'twice.txt'), { name: 'AmbiguousNameError' })
  })

  it('nothing by that name is NotFoundError', () => {
    assert.throws(() => resolveReference(catalogue, 'album/photos/IMG_9999.jpg'), { name: 'NotFoundError' })
    assert.throws(() => resolveReference(catalogue, '/'), { name: 'NotFoundError' })
  })

  it('ls shows a put directory by its group id, everything else by its own id', () => {
    assert.equal(idOf(catalogue[0]!), album.id)
    assert.equal(idOf(catalogue[1]!), catalogue[1]!.fileId)
    assert.equal(normaliseReference('./a/./b//'), 'a/./b')
  })
})

describe('natural order', () => {
  it('numbers by value, case-insensitively, a directory\'s contents together, and total', () => {
    const sorted = ['IMG_10.jpg', 'img_2.jpg', 'IMG_1.jpg', 'a/b', 'a b', 'a-z/x', 'a/a', 'IMG_002.jpg', 'IMG_02.jpg', 'x99999999999999999999', 'x100000000000000000000']
      .sort(naturalCompare)
    assert.deepEqual(sorted, ['a/a', 'a/b', 'a b', 'a-z/x', 'IMG_1.jpg', 'img_2.jpg', 'IMG_02.jpg', 'IMG_002.jpg', 'IMG_10.jpg', 'x99999999999999999999', 'x100000000000000000000'])
    assert.equal(naturalCompare('A', 'a') !== 0, true, 'distinct names never tie')
  })

  it('fewer segments first, empty segments and names, and an order that is antisymmetric', () => {
    const names = ['a/b', 'a', 'a0', 'a/0', '', 'a//b', 'Ä1', 'ä01', 'b/1/c', 'b/01', 'B']
    assert.deepEqual(names.slice().sort(naturalCompare), ['', 'a', 'a//b', 'a/0', 'a/b', 'a0', 'B', 'b/1/c', 'b/01', 'Ä1', 'ä01'])
    for (const a of names) for (const b of names) assert.equal(Math.sign(naturalCompare(a, b)) + Math.sign(naturalCompare(b, a)), 0, `${a} ${b}`)
  })
})
