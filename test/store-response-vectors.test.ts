import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { StoreResponseCodec } from '../src/adapters/libp2p/wire/messages.ts'

const vectors = JSON.parse(readFileSync(new URL('./vectors/store-response.json', import.meta.url), 'utf8')) as Record<'withRoom' | 'without', { frame: string, error: object, roomLeft?: number }>

describe('published vectors: StoreResponse room_left', () => {
  for (const name of ['withRoom', 'without'] as const) {
    it(`${name}: decodes to its fields and encodes to its bytes`, () => {
      const v = vectors[name]
      const decoded = StoreResponseCodec.decode(Buffer.from(v.frame, 'hex'))
      assert.deepEqual(decoded, { error: v.error, ...(v.roomLeft === undefined ? {} : { roomLeft: v.roomLeft }) })
      assert.equal(Buffer.from(StoreResponseCodec.encode(decoded)).toString('hex'), v.frame)
    })
  }
})
