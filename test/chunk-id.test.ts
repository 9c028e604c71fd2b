import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { sha256, sha512 } from '@noble/hashes/sha2.js'
import { base32 } from 'multiformats/bases/base32'
import { base36 } from 'multiformats/bases/base36'
import { CID } from 'multiformats/cid'
import { create as createDigest } from 'multiformats/hashes/digest'
import { chunkIdDigest, chunkIdMatches, chunkIdOf, isChunkId, parseChunkId } from '../src/domain/formats/chunk-id.ts'

describe('chunk id', () => {
  it('is the CIDv1 raw sha2-256 of the bytes, base32', () => {
    // the well-known CID of zero bytes
    assert.equal(chunkIdOf(new Uint8Array(0)), 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku')
    // built by hand from an independent SHA-256: 0x01 (v1) 0x55 (raw) 0x12 0x20 (sha2-256, 32 bytes) digest
    const bytes = randomBytes(100_000)
    const expected = base32.encode(Uint8Array.from([0x01, 0x55, 0x12, 0x20, ...sha256(bytes)]))
    assert.equal(chunkIdOf(bytes), expected)
    assert.deepEqual(chunkIdDigest(expected), sha256(bytes))
  })

  it('satisfies the ChunkStore port check and parses back to itself', () => {
    for (let i = 0; i < 20; i++) {
      const id = chunkIdOf(randomBytes(i * 37))
      assert.equal(isChunkId(id), true)
      assert.match(id, /^bafkrei[a-z2-7]{52}$/)
      assert.equal(parseChunkId(id), id)
    }
  })

  it('matches only the bytes it names', () => {
    const bytes = randomBytes(4096)
    const id = chunkIdOf(bytes)
    assert.equal(chunkIdMatches(id, bytes), true)
    const flipped = Buffer.from(bytes)
    flipped[1234]! ^= 1
    assert.equal(chunkIdMatches(id, flipped), false)
    assert.equal(chunkIdMatches(id, bytes.subarray(1)), false)
    assert.equal(chunkIdMatches('not a chunk id', bytes), false)
    assert.equal(chunkIdMatches(id.toUpperCase(), bytes), false)
  })

  it('refuses every other form with InvalidChunkIdError', () => {
    const digest = createDigest(0x12, sha256(new Uint8Array([1, 2, 3])))
    const raw = CID.createV1(0x55, digest)
    const bad = [
      '', 'bafkrei', 'hello world', raw.toString() + ' ', ' ' + raw.toString(), raw.toString().toUpperCase(),
      raw.toString().slice(0, -1), raw.toString() + 'a',
      raw.toString(base36), // other multibase
      CID.createV0(digest).toString(), // CIDv0, base58
      CID.createV1(0x70, digest).toString(), // dag-pb
      CID.createV1(0x55, createDigest(0x13, sha512(new Uint8Array([1])))).toString(), // sha2-512
      CID.createV1(0x55, createDigest(0x12, new Uint8Array(20))).toString(), // short digest
      'b' + 'a'.repeat(58) // base32 but not a CID
    ]
    for (const text of bad) {
      assert.throws(() => parseChunkId(text), { name: 'InvalidChunkIdError', code: 'invalid-chunk-id' }, text)
    }
  })
})
