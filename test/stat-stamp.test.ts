// A file's stat stamp (content-hash.ts) is remembered per key and identity, so a re-put
// of an unchanged tree does not take an HMAC per file: what is remembered must be what
// the definition gives, for that key only, and stay so once the memory starts over.
import assert from 'node:assert/strict'
import { createHmac, randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { contentHashKey, STAT_STAMP_LABEL, statStamp } from '../src/domain/formats/content-hash.ts'

const defined = (key: Uint8Array, identity: string): string =>
  createHmac('sha256', key).update(`${STAT_STAMP_LABEL}\0${identity}`).digest('hex').slice(0, 32)

describe('stat stamps', () => {
  it('are the definition, asked once or again, and one key\'s are not another\'s', () => {
    const a = contentHashKey(randomBytes(32))
    const b = contentHashKey(randomBytes(32))
    for (const identity of ['2049:1234:1796302035161.123', '2049:1235:1796302035161.123', '']) {
      for (let round = 0; round < 2; round++) {
        assert.equal(statStamp(a, identity), defined(a, identity))
        assert.equal(statStamp(b, identity), defined(b, identity))
      }
      assert.notEqual(statStamp(a, identity), statStamp(b, identity))
    }
  })

  it('the content-hash key of one master is one array, derived as before', () => {
    const master = randomBytes(32)
    assert.equal(contentHashKey(master), contentHashKey(master))
    assert.deepEqual(contentHashKey(master), contentHashKey(Uint8Array.from(master)))
  })

  it('stay the definition past the memory\'s bound, when it starts over', () => {
    const key = randomBytes(32)
    const first = '1:1:1'
    assert.equal(statStamp(key, first), defined(key, first))
    for (let i = 0; i < 70_000; i++) statStamp(key, `1:${i + 2}:1`)
    assert.equal(statStamp(key, first), defined(key, first))
    assert.equal(statStamp(key, '1:69000:1'), defined(key, '1:69000:1'))
  })
})
