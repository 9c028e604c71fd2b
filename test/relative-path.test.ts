import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { firstSegment, isRelativePath, MAX_NAME_BYTES, parseRelativePath } from '../src/domain/formats/relative-path.ts'

describe('relative path (stored file names)', () => {
  it('accepts relative paths of ordinary and unusual but legal names', () => {
    for (const name of ['a', 'a.jpg', 'photos/2024/a.jpg', '.hidden', 'dir/.x', '...', 'a..b', 'back\\slash', 'c:colon', 'ünï/cødé/😀',
      'x'.repeat(255), `${'d'.repeat(200)}/`.repeat(20) + 'f', ' spaced name ']) {
      assert.ok(isRelativePath(name), JSON.stringify(name))
      assert.equal(parseRelativePath(name), name)
    }
  })

  it('refuses anything that could reach outside the restore directory, or is not a name', () => {
    for (const name of ['', '/', '/etc/passwd', '..', '../x', 'a/../../x', 'a/..', './a', 'a/./b', 'a//b', 'a/', 'a\0b',
      'x'.repeat(256), 'a/' + 'é'.repeat(128), `${'d'.repeat(200)}/`.repeat(21) + 'ff', 'lone \uD800 half', 42, null, undefined, ['a']]) {
      assert.equal(isRelativePath(name), false, JSON.stringify(name))
      assert.throws(() => parseRelativePath(name), { name: 'InvalidNameError', code: 'invalid-name' })
    }
  })

  it('counts the limit in UTF-8 bytes', () => {
    const name = Array.from({ length: 17 }, () => 'é'.repeat(120)).join('/') // 17 * 240 + 16 = 4096 bytes
    assert.equal(Buffer.byteLength(name), MAX_NAME_BYTES)
    assert.ok(isRelativePath(name))
    assert.ok(!isRelativePath(name + 'x'))
  })

  it('gives the first segment', () => {
    assert.equal(firstSegment('photos/2024/a.jpg'), 'photos')
    assert.equal(firstSegment('a.jpg'), 'a.jpg')
  })
})
