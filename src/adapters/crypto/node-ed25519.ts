import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto'
import type { Ed25519 } from '../../domain/capabilities/ed25519.ts'

// DER prefixes of an Ed25519 key (RFC 8410): the raw 32 bytes follow
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex')
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex')

/**
 * Ed25519 by OpenSSL through node:crypto (the domain's Ed25519 port): a signature costs
 * tens of microseconds instead of @noble's millisecond, which a put of many small files
 * paid twice per file. Key objects are made once per seed or public key object (a file's
 * write key signs its manifest and its pieces), weakly held so they go with the key.
 */
export class NodeEd25519 implements Ed25519 {
  private readonly privateKeys = new WeakMap<Uint8Array, KeyObject>()
  private readonly publicKeys = new WeakMap<Uint8Array, KeyObject>()

  publicKey (seed: Uint8Array): Uint8Array {
    const spki = createPublicKey(this.privateKeyOf(seed)).export({ format: 'der', type: 'spki' })
    return new Uint8Array(spki.subarray(SPKI_ED25519.byteLength))
  }

  sign (message: Uint8Array, seed: Uint8Array): Uint8Array {
    return new Uint8Array(sign(null, message, this.privateKeyOf(seed)))
  }

  verify (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
    if (signature.byteLength !== 64 || publicKey.byteLength !== 32) return false
    try {
      let key = this.publicKeys.get(publicKey)
      if (key === undefined) {
        key = createPublicKey({ key: Buffer.concat([SPKI_ED25519, publicKey]), format: 'der', type: 'spki' })
        this.publicKeys.set(publicKey, key)
      }
      return verify(null, message, key, signature)
    } catch {
      // a key that is no point of the curve verifies nothing
      return false
    }
  }

  private privateKeyOf (seed: Uint8Array): KeyObject {
    if (seed.byteLength !== 32) throw new RangeError('an Ed25519 seed is 32 bytes')
    let key = this.privateKeys.get(seed)
    if (key === undefined) {
      key = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: 'der', type: 'pkcs8' })
      this.privateKeys.set(seed, key)
    }
    return key
  }
}
