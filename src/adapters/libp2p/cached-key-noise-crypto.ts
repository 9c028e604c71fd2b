import { createCipheriv, createDecipheriv, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto'
import type { ICryptoInterface } from '@chainsafe/libp2p-noise'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'

const CIPHER = 'chacha20-poly1305'
const TAG_BYTES = 16
// Below this size Noise's own choice (a WASM ChaCha20-Poly1305) is faster than
// node:crypto, so small frames keep going there (the same threshold Noise uses).
const NODE_CRYPTO_FROM_BYTES = 1200

type List = ReturnType<Extract<Parameters<ICryptoInterface['chaCha20Poly1305Encrypt']>[0], { sublist: unknown }>['sublist']>

// Noise pins its own major version of uint8arraylist; an empty sublist of its input
// is a list of that version, which its encoder appends without a copy.
function emptyListLike (list: List): List {
  return list.sublist(0, 0)
}

interface CachedKey {
  bytes: Uint8Array
  object: KeyObject
}

/**
 * Noise's default crypto with one change: node:crypto's ChaCha20-Poly1305 gets a
 * `KeyObject` made once per session key instead of the raw key bytes. Given bytes,
 * `createCipheriv` builds a key object on every call, which was ~20% of Noise's
 * CPU at one call per 64 KiB frame. A session's key is one `Uint8Array` for the
 * life of its cipher state, so the cache is keyed by identity (a WeakMap, so a
 * closed connection's keys go with it); the bytes are compared on every use so a
 * key changed in place can never encrypt under the old one.
 */
export function cachedKeyNoiseCrypto (base: ICryptoInterface = defaultCrypto): ICryptoInterface {
  const keys = new WeakMap<Uint8Array, CachedKey>()

  function keyObjectOf (k: Uint8Array): KeyObject {
    const cached = keys.get(k)
    if (cached !== undefined && timingSafeEqual(cached.bytes, k)) return cached.object
    const entry = { bytes: Uint8Array.from(k), object: createSecretKey(k) }
    keys.set(k, entry)
    return entry.object
  }

  return {
    ...base,
    chaCha20Poly1305Encrypt (plaintext, nonce, ad, k) {
      if (plaintext.byteLength < NODE_CRYPTO_FROM_BYTES) return base.chaCha20Poly1305Encrypt(plaintext, nonce, ad, k)
      const cipher = createCipheriv(CIPHER, keyObjectOf(k), nonce, { authTagLength: TAG_BYTES })
      cipher.setAAD(ad, { plaintextLength: plaintext.byteLength })
      if (plaintext instanceof Uint8Array) {
        const body = cipher.update(plaintext)
        cipher.final()
        const tag = cipher.getAuthTag()
        return Buffer.concat([body, tag], body.byteLength + tag.byteLength)
      }
      const output = emptyListLike(plaintext)
      for (const part of plaintext) output.append(cipher.update(part))
      cipher.final()
      output.append(cipher.getAuthTag())
      return output
    },
    chaCha20Poly1305Decrypt (ciphertext, nonce, ad, k, dst) {
      if (ciphertext.byteLength < NODE_CRYPTO_FROM_BYTES) return base.chaCha20Poly1305Decrypt(ciphertext, nonce, ad, k, dst)
      const decipher = createDecipheriv(CIPHER, keyObjectOf(k), nonce, { authTagLength: TAG_BYTES })
      const bodyBytes = ciphertext.byteLength - TAG_BYTES
      decipher.setAAD(ad, { plaintextLength: bodyBytes })
      decipher.setAuthTag(ciphertext.subarray(bodyBytes))
      if (ciphertext instanceof Uint8Array) {
        const body = decipher.update(ciphertext.subarray(0, bodyBytes))
        // final() throws when the tag does not verify: nothing decrypted is returned then
        decipher.final()
        return body
      }
      const body = ciphertext.sublist(0, bodyBytes)
      const output = emptyListLike(body)
      for (const part of body) output.append(decipher.update(part))
      decipher.final()
      return output
    }
  }
}
