import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { newFileId } from '../src/domain/formats/file-id.ts'
import { contentKey, fileRoot, readRoot } from '../src/domain/crypto/key-derivation.ts'
import { generateMasterSecret } from '../src/domain/crypto/master-secret.ts'
import { OWNER_CHUNK_OVERHEAD, OwnerChunkCipher, ownerChunkAad } from '../src/domain/crypto/owner-layer.ts'

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'))
const seq = (length: number, from = 0): Uint8Array => Uint8Array.from({ length }, (_, i) => from + i)

describe('owner layer', () => {
  const master = generateMasterSecret()
  const fileId = newFileId()
  const cipher = OwnerChunkCipher.forFile(master, fileId)

  it('round-trips chunks of any size, adding 29 bytes', () => {
    for (const size of [0, 1, 16, 1000, 1024 * 1024]) {
      const plaintext = randomBytes(size)
      const sealed = cipher.seal(7, false, plaintext)
      assert.equal(sealed.byteLength, size + OWNER_CHUNK_OVERHEAD)
      assert.equal(sealed[0], 1)
      assert.ok(Buffer.from(cipher.open(7, false, sealed)).equals(plaintext))
    }
  })

  it('never reuses a nonce: the same plaintext seals differently each time, and both open', () => {
    const plaintext = randomBytes(4096)
    const a = cipher.seal(0, true, plaintext)
    const b = cipher.seal(0, true, plaintext)
    assert.ok(!Buffer.from(a).equals(b))
    assert.ok(!Buffer.from(a.subarray(1, 13)).equals(b.subarray(1, 13)), 'nonces differ')
    assert.ok(Buffer.from(cipher.open(0, true, a)).equals(plaintext))
    assert.ok(Buffer.from(cipher.open(0, true, b)).equals(plaintext))
    const nonces = new Set<string>()
    for (let i = 0; i < 10_000; i++) nonces.add(Buffer.from(cipher.seal(0, true, plaintext.subarray(0, 1)).subarray(1, 13)).toString('hex'))
    assert.equal(nonces.size, 10_000)
  })

  it('detects a change of any byte, bit by bit', () => {
    const sealed = cipher.seal(3, false, randomBytes(40))
    for (let at = 0; at < sealed.byteLength; at++) {
      for (let bit = 0; bit < 8; bit++) {
        const tampered = Uint8Array.from(sealed)
        tampered[at]! ^= 1 << bit
        assert.throws(() => cipher.open(3, false, tampered), { name: 'ChunkDecryptionError', code: 'chunk-decryption' }, `byte ${at} bit ${bit}`)
      }
    }
  })

  it('detects truncation, extension and garbage', () => {
    const sealed = cipher.seal(0, false, randomBytes(100))
    for (const bad of [sealed.subarray(0, sealed.byteLength - 1), sealed.subarray(1), Buffer.concat([sealed, new Uint8Array(1)]),
      new Uint8Array(0), new Uint8Array(28), randomBytes(200)]) {
      assert.throws(() => cipher.open(0, false, bad), { name: 'ChunkDecryptionError' })
    }
  })

  it('opens a chunk only at its own place: index, final flag, file and key', () => {
    const plaintext = randomBytes(100)
    const sealed = cipher.seal(5, false, plaintext)
    assert.throws(() => cipher.open(4, false, sealed), { name: 'ChunkDecryptionError' }, 'another index')
    assert.throws(() => cipher.open(5 + 2 ** 32, false, sealed), { name: 'ChunkDecryptionError' }, 'index beyond 32 bits')
    assert.throws(() => cipher.open(5, true, sealed), { name: 'ChunkDecryptionError' }, 'a middle chunk as the last: truncation')
    const last = cipher.seal(9, true, plaintext)
    assert.throws(() => cipher.open(9, false, last), { name: 'ChunkDecryptionError' }, 'the last chunk as a middle one: extension')
    // same key, other file id: the AAD alone must tell files apart
    const key = randomBytes(32)
    const one = new OwnerChunkCipher(key, fileId)
    const other = new OwnerChunkCipher(key, newFileId())
    assert.throws(() => other.open(0, true, one.seal(0, true, plaintext)), { name: 'ChunkDecryptionError' }, 'another file')
    // the per-file key: another file of the same owner, or the same file id of another owner
    assert.throws(() => OwnerChunkCipher.forFile(master, newFileId()).open(5, false, sealed), { name: 'ChunkDecryptionError' })
    assert.throws(() => OwnerChunkCipher.forFile(generateMasterSecret(), fileId).open(5, false, sealed), { name: 'ChunkDecryptionError' })
    assert.ok(Buffer.from(cipher.open(5, false, sealed)).equals(plaintext))
  })

  it('opens with the read root alone, as a share code gives it', () => {
    const plaintext = randomBytes(100)
    const sealed = cipher.seal(2, true, plaintext)
    const read = readRoot(fileRoot(master, fileId))
    assert.ok(Buffer.from(OwnerChunkCipher.forReadRoot(read, fileId).open(2, true, sealed)).equals(plaintext))
    assert.throws(() => OwnerChunkCipher.forReadRoot(readRoot(fileRoot(master, newFileId())), fileId).open(2, true, sealed), { name: 'ChunkDecryptionError' })
    // the content key hangs off R, not off F: the file root's bytes as a key do not open it
    assert.throws(() => new OwnerChunkCipher(fileRoot(master, fileId), fileId).open(2, true, sealed), { name: 'ChunkDecryptionError' })
    assert.ok(Buffer.from(new OwnerChunkCipher(contentKey(read), fileId).open(2, true, sealed)).equals(plaintext))
    assert.throws(() => OwnerChunkCipher.forReadRoot(fileRoot(master, fileId), fileId), { name: 'InvalidInputError' })
  })

  it('refuses bad places and keys as invalid input', () => {
    for (const index of [-1, 1.5, Number.MAX_SAFE_INTEGER + 1, Number.NaN]) {
      assert.throws(() => cipher.seal(index, false, new Uint8Array(1)), { name: 'InvalidInputError' }, String(index))
    }
    assert.throws(() => new OwnerChunkCipher(new Uint8Array(16), fileId), { name: 'InvalidInputError' })
    assert.throws(() => new OwnerChunkCipher(randomBytes(32), new Uint8Array(8)), { name: 'InvalidInputError' })
  })

  it('follows the published format (protocol-spec/owner-layer.md example)', () => {
    const key = seq(32)
    const id = seq(16, 0xa0)
    assert.deepEqual(ownerChunkAad(id, 2, true), hex('01a0a1a2a3a4a5a6a7a8a9aaabacadaeaf000000000000000201'))
    const sealed = hex('01c0c1c2c3c4c5c6c7c8c9cacb682d4b0b1854b62fedb592d7568f879cada5146d1e11701b097801803c')
    assert.equal(Buffer.from(new OwnerChunkCipher(key, id).open(2, true, sealed)).toString(), 'hello, quloud')
  })
})
