import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { ENVELOPE_OVERHEAD } from '../src/domain/crypto/aes-gcm-envelope.ts'
import { CHUNK_SIZE } from '../src/domain/formats/chunker.ts'
import { PIECE_BODY_BYTES, PIECE_HEADER_BYTES, PieceCodec } from '../src/domain/formats/sealed-pieces.ts'
import { OWNER_CHUNK_OVERHEAD } from '../src/domain/crypto/owner-layer.ts'

class Undecryptable extends Error {}
class Invalid extends Error {}

function codec (key = randomBytes(32), aad: Uint8Array = Buffer.from('test-aad'), maxPieces = 8): PieceCodec {
  return new PieceCodec({ key, aad, maxPieces, undecryptable: (reason) => new Undecryptable(reason), invalid: (reason) => new Invalid(reason) })
}

const shuffled = <T>(items: T[]): T[] => items.map((item) => ({ item, k: Math.random() })).sort((a, b) => a.k - b.k).map((x) => x.item)

describe('sealed pieces', () => {
  const key = randomBytes(32)
  const c = codec(key)

  it('cuts a value into pieces no larger than a sealed data chunk, and joins them back in any order', () => {
    for (const size of [0, 1, PIECE_BODY_BYTES - 1, PIECE_BODY_BYTES, PIECE_BODY_BYTES + 1, 3 * PIECE_BODY_BYTES + 5]) {
      const body = randomBytes(size)
      const pieces = c.seal(body, 7)
      assert.equal(pieces.length, Math.max(1, Math.ceil(size / PIECE_BODY_BYTES)), `size ${size}`)
      for (const piece of pieces) assert.ok(piece.byteLength <= CHUNK_SIZE + OWNER_CHUNK_OVERHEAD)
      assert.equal(pieces.reduce((n, p) => n + p.byteLength, 0), size + pieces.length * (PIECE_HEADER_BYTES + ENVELOPE_OVERHEAD))
      const edition = c.openEdition(shuffled([...pieces, pieces[0]!]))
      assert.ok(Buffer.from(edition.body).equals(body))
      assert.equal(edition.generation, 7)
      assert.match(edition.edition, /^[0-9a-f]{32}$/)
    }
  })

  it('refuses a missing piece, a mix of editions, and pieces under another key or AAD', () => {
    const body = randomBytes(2 * PIECE_BODY_BYTES + 10)
    const one = c.seal(body, 1)
    const two = c.seal(body, 1)
    assert.throws(() => c.openEdition(one.slice(1)), Invalid)
    assert.throws(() => c.openEdition([one[0]!, two[1]!, one[2]!]), Invalid)
    assert.throws(() => c.openEdition([]), Invalid)
    assert.throws(() => codec().openEdition(one), Undecryptable)
    assert.throws(() => codec(key, Buffer.from('other-aad')).openEdition(one), Undecryptable)
    const tampered = Uint8Array.from(one[1]!)
    tampered[40]! ^= 1
    assert.throws(() => c.openEdition([one[0]!, tampered, one[2]!]), Undecryptable)
  })

  it('refuses values needing more pieces than allowed', () => {
    assert.throws(() => codec(key, undefined, 2).seal(new Uint8Array(2 * PIECE_BODY_BYTES + 1), 0), Invalid)
    const three = c.seal(new Uint8Array(2 * PIECE_BODY_BYTES + 1), 0)
    assert.throws(() => codec(key, Buffer.from('test-aad'), 2).openEdition(three), Invalid)
  })

  it('finds every complete edition in a bag of pieces and skips strays, fragments and foreign pieces', () => {
    const a = c.seal(randomBytes(10), 1)
    const b = c.seal(randomBytes(PIECE_BODY_BYTES + 10), 2)
    const incomplete = c.seal(randomBytes(PIECE_BODY_BYTES + 10), 3).slice(0, 1)
    const foreign = codec().seal(randomBytes(10), 9)
    const editions = c.openEditions(shuffled([...a, ...b, ...b, ...incomplete, ...foreign, randomBytes(100), new Uint8Array(0)]))
    assert.deepEqual(editions.map((e) => e.generation).sort(), [1, 2])
    assert.deepEqual(c.openEditions([]), [])
  })

  it('takes the edition id from the injected random source and refuses bad generations', () => {
    const pieces = c.seal(randomBytes(5), 0, (n) => new Uint8Array(n).fill(0xab))
    assert.equal(c.openEdition(pieces).edition, 'ab'.repeat(16))
    for (const generation of [-1, 1.5, Number.MAX_SAFE_INTEGER + 1]) assert.throws(() => c.seal(new Uint8Array(1), generation), { name: 'InvalidInputError' })
  })
})
