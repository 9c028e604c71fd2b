// The domain's Ed25519 port: @noble's and node:crypto's implementations give RFC 8032's
// bytes and agree with each other, so the daemon's faster one changes no signature.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { ed25519Engine, nobleEd25519, useEd25519, type Ed25519 } from '../src/domain/capabilities/ed25519.ts'
import { NodeEd25519 } from '../src/adapters/crypto/node-ed25519.ts'
import { signBody, splitSignedBody, verifyBody } from '../src/domain/capabilities/signed-body.ts'
import { writeKeyOf } from '../src/domain/capabilities/file-capabilities.ts'

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'))
// RFC 8032 section 7.1, tests 1 and 2
const VECTORS = [
  { seed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', message: '', signature: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b' },
  { seed: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb', publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c', message: '72', signature: '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00' }
]
const ENGINES: Array<[string, Ed25519]> = [['noble', nobleEd25519], ['node:crypto', new NodeEd25519()]]

for (const [name, engine] of ENGINES) {
  describe(`Ed25519 port: ${name}`, () => {
    it('gives RFC 8032\'s public keys and signatures', () => {
      for (const v of VECTORS) {
        assert.equal(Buffer.from(engine.publicKey(hex(v.seed))).toString('hex'), v.publicKey)
        assert.equal(Buffer.from(engine.sign(hex(v.message), hex(v.seed))).toString('hex'), v.signature)
        assert.equal(engine.verify(hex(v.signature), hex(v.message), hex(v.publicKey)), true)
      }
    })

    it('refuses a tampered message, a flipped signature bit, another key and malformed input without throwing', () => {
      const v = VECTORS[1]!
      const signature = hex(v.signature)
      assert.equal(engine.verify(signature, hex('73'), hex(v.publicKey)), false)
      const flipped = Uint8Array.from(signature)
      flipped[10]! ^= 1
      assert.equal(engine.verify(flipped, hex(v.message), hex(v.publicKey)), false)
      assert.equal(engine.verify(signature, hex(v.message), hex(VECTORS[0]!.publicKey)), false)
      assert.equal(engine.verify(signature.subarray(0, 63), hex(v.message), hex(v.publicKey)), false)
      assert.equal(engine.verify(signature, hex(v.message), new Uint8Array(31)), false)
      // the all-ones y coordinate is no point of the curve
      assert.equal(engine.verify(signature, hex(v.message), new Uint8Array(32).fill(0xff)), false)
    })
  })
}

describe('Ed25519 port: the two implementations agree', () => {
  it('on random seeds and messages, each verifying the other\'s signatures', () => {
    const [noble, node] = [ENGINES[0]![1], ENGINES[1]![1]]
    for (let i = 0; i < 50; i++) {
      const seed = randomBytes(32)
      const message = randomBytes(i * 7)
      const publicKey = noble.publicKey(seed)
      assert.deepEqual(node.publicKey(seed), publicKey)
      const signature = noble.sign(message, seed)
      assert.deepEqual(node.sign(message, seed), signature)
      assert.equal(node.verify(signature, message, publicKey), true)
      assert.equal(noble.verify(node.sign(message, seed), message, publicKey), true)
    }
  })

  it('signed bodies made under one verify under the other', () => {
    const key = writeKeyOf(randomBytes(32))
    const before = ed25519Engine()
    try {
      useEd25519(new NodeEd25519())
      const body = signBody('quloud/test', key, Uint8Array.of(1, 2, 3))
      useEd25519(nobleEd25519)
      assert.equal(verifyBody('quloud/test', key.publicKey, splitSignedBody(body)!), true)
      assert.deepEqual(signBody('quloud/test', key, Uint8Array.of(1, 2, 3)), body)
      assert.equal(verifyBody('quloud/other', key.publicKey, splitSignedBody(body)!), false)
    } finally {
      useEd25519(before)
    }
  })
})
