import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { fileIdToString, isFileId, newFileId, parseFileId, FILE_ID_BYTES } from '../src/domain/formats/file-id.ts'

describe('file id', () => {
  it('is 16 fresh random bytes', () => {
    const a = newFileId()
    assert.equal(a.byteLength, FILE_ID_BYTES)
    assert.equal(isFileId(a), true)
    assert.notDeepEqual(a, newFileId())
    assert.deepEqual(newFileId((n) => new Uint8Array(n).fill(1)), new Uint8Array(16).fill(1))
  })

  it('round-trips through 32 lowercase hex digits', () => {
    const id = newFileId()
    const text = fileIdToString(id)
    assert.match(text, /^[0-9a-f]{32}$/)
    assert.deepEqual(parseFileId(text), id)
    assert.deepEqual(parseFileId(text.toUpperCase()), id)
    assert.equal(fileIdToString(parseFileId('000102030405060708090a0b0c0d0e0f')), '000102030405060708090a0b0c0d0e0f')
  })

  it('refuses anything else with InvalidFileIdError', () => {
    for (const bad of ['', '00', '0'.repeat(31), '0'.repeat(33), 'g'.repeat(32), ` ${'0'.repeat(32)}`, '0x' + '0'.repeat(30), 42]) {
      assert.throws(() => parseFileId(bad as string), { name: 'InvalidFileIdError', code: 'invalid-file-id' }, String(bad))
    }
    assert.throws(() => fileIdToString(new Uint8Array(15)), { name: 'InvalidFileIdError' })
    assert.equal(isFileId(new Uint8Array(17)), false)
    assert.equal(isFileId('00'.repeat(16)), false)
  })
})
