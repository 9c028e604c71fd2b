import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { noise } from '@chainsafe/libp2p-noise'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { Uint8ArrayList } from 'uint8arraylist'
import { cachedKeyNoiseCrypto } from '../src/adapters/libp2p/cached-key-noise-crypto.ts'
import { createHost } from '../src/adapters/libp2p/create-host.ts'

const crypto = cachedKeyNoiseCrypto()
const nonce = (n: number): Uint8Array => {
  const bytes = new Uint8Array(12)
  new DataView(bytes.buffer).setUint32(4, n, true)
  return bytes
}
const bytesOf = (data: Uint8Array | { subarray (): Uint8Array }): Uint8Array => data instanceof Uint8Array ? data : data.subarray()
// the test's uint8arraylist is a later major version than the one Noise pins; both iterate and slice alike
type NoiseList = Parameters<typeof crypto.chaCha20Poly1305Encrypt>[0]
const list = (...parts: Uint8Array[]): NoiseList => new Uint8ArrayList(...parts) as unknown as NoiseList

describe('cachedKeyNoiseCrypto', () => {
  // sizes on both sides of the threshold where small frames go to Noise's WASM cipher
  for (const size of [0, 100, 1199, 1200, 65_519]) {
    it(`encrypts ${size} bytes exactly as Noise's default crypto does, and decrypts them back`, () => {
      const k = randomBytes(32)
      const ad = randomBytes(32)
      for (let n = 0; n < 3; n++) {
        const plaintext = randomBytes(size)
        const ours = bytesOf(crypto.chaCha20Poly1305Encrypt(plaintext, nonce(n), ad, k))
        const theirs = bytesOf(defaultCrypto.chaCha20Poly1305Encrypt(plaintext, nonce(n), ad, k))
        assert.deepEqual(Buffer.from(ours), Buffer.from(theirs))
        assert.deepEqual(Buffer.from(bytesOf(crypto.chaCha20Poly1305Decrypt(theirs, nonce(n), ad, k))), plaintext)
        assert.deepEqual(Buffer.from(bytesOf(defaultCrypto.chaCha20Poly1305Decrypt(ours, nonce(n), ad, k))), plaintext)
      }
    })
  }

  it('takes a plaintext or ciphertext in parts (Uint8ArrayList) as the default crypto does', () => {
    const k = randomBytes(32)
    const plaintext = randomBytes(70_000)
    const parts = list(plaintext.subarray(0, 1000), plaintext.subarray(1000, 40_000), plaintext.subarray(40_000))
    const ours = bytesOf(crypto.chaCha20Poly1305Encrypt(parts, nonce(7), new Uint8Array(0), k))
    assert.deepEqual(Buffer.from(ours), Buffer.from(bytesOf(defaultCrypto.chaCha20Poly1305Encrypt(plaintext, nonce(7), new Uint8Array(0), k))))
    const sealed = list(ours.subarray(0, 5), ours.subarray(5, 60_000), ours.subarray(60_000))
    assert.deepEqual(Buffer.from(bytesOf(crypto.chaCha20Poly1305Decrypt(sealed, nonce(7), new Uint8Array(0), k))), plaintext)
  })

  it('refuses a tampered body, a tampered tag, another nonce, other associated data and another key', () => {
    const k = randomBytes(32)
    const ad = randomBytes(32)
    const sealed = Buffer.from(bytesOf(crypto.chaCha20Poly1305Encrypt(randomBytes(8192), nonce(1), ad, k)))
    const flipped = (at: number): Buffer => {
      const copy = Buffer.from(sealed)
      copy[at]! ^= 1
      return copy
    }
    assert.throws(() => crypto.chaCha20Poly1305Decrypt(flipped(10), nonce(1), ad, k))
    assert.throws(() => crypto.chaCha20Poly1305Decrypt(flipped(sealed.length - 1), nonce(1), ad, k))
    assert.throws(() => crypto.chaCha20Poly1305Decrypt(sealed, nonce(2), ad, k))
    assert.throws(() => crypto.chaCha20Poly1305Decrypt(sealed, nonce(1), randomBytes(32), k))
    assert.throws(() => crypto.chaCha20Poly1305Decrypt(sealed, nonce(1), ad, randomBytes(32)))
  })

  it('never encrypts under a cached key after the key bytes were changed in place', () => {
    const k = randomBytes(32)
    const plaintext = randomBytes(4096)
    crypto.chaCha20Poly1305Encrypt(plaintext, nonce(0), new Uint8Array(0), k)
    k[0]! ^= 0xff
    const after = bytesOf(crypto.chaCha20Poly1305Encrypt(plaintext, nonce(0), new Uint8Array(0), k))
    assert.deepEqual(Buffer.from(after), Buffer.from(bytesOf(defaultCrypto.chaCha20Poly1305Encrypt(plaintext, nonce(0), new Uint8Array(0), k))))
  })

  it('lets a host built by createHost talk to a host running Noise with its default crypto', async () => {
    const ours = await createHost({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'] })
    const theirs = await createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()]
    })
    await ours.start()
    try {
      const payload = randomBytes(3 * 1024 * 1024 + 17)
      await theirs.handle('/quloud-test/echo/1.0.0', async (stream) => {
        for await (const part of stream) {
          if (!stream.send(part.subarray())) await new Promise((resolve) => stream.addEventListener('drain', resolve, { once: true }))
        }
        await stream.close()
      })
      const stream = await ours.dialProtocol(theirs.getMultiaddrs()[0]!, '/quloud-test/echo/1.0.0')
      const echoed: Uint8Array[] = []
      const reading = (async () => { for await (const part of stream) echoed.push(part.subarray()) })()
      for (let at = 0; at < payload.length; at += 256 * 1024) {
        if (!stream.send(payload.subarray(at, at + 256 * 1024))) await new Promise((resolve) => stream.addEventListener('drain', resolve, { once: true }))
      }
      await stream.close()
      await reading
      assert.deepEqual(Buffer.concat(echoed), payload)
    } finally {
      await ours.stop()
      await theirs.stop()
    }
  })
})
