import { createCipheriv, createDecipheriv, createSecretKey, randomFillSync, type KeyObject } from 'node:crypto'
import { InvalidInputError } from '../../errors.ts'

/**
 * The sealed format both encryption layers share (the owner layer, owner-layer.ts, and
 * the node's at-rest layer), AES-256-GCM from node:crypto:
 *
 *   version (1 byte) || nonce (12 bytes) || ciphertext (same length as plaintext) || tag (16 bytes)
 *
 * The layers differ in key and AAD; each puts its version byte first in its AAD, so the
 * header byte is authenticated too (no downgrade by rewriting it).
 *
 * Nonces are 96 random bits, fresh for every seal, never a counter: a counter would
 * have to be persisted and never rolled back (a restored backup, two nodes recovered
 * from the same phrase) or a (key, nonce) pair repeats, which in GCM leaks the XOR of
 * two plaintexts and the authentication key. With random nonces the risk is a
 * collision: after n seals under one key the probability is about n^2 / 2^97, and NIST
 * SP 800-38D caps random-nonce use at 2^32 seals per key. Both layers stay far below
 * that: owner keys are per file (a 1 TiB file is 2^20 chunks: ~2^-57), and callers
 * that seal more under one key (the at-rest key) must count against that budget.
 *
 * The node:crypto key object is built once per key: `createCipheriv` with a raw key
 * re-imports it on every call, ~20% of the cost at 1 MiB as measured with
 * bench/encryption.bench.ts.
 */

export const NONCE_BYTES = 12
export const TAG_BYTES = 16
export const HEADER_BYTES = 1 + NONCE_BYTES
/** Sealed length minus plaintext length: 29 bytes. */
export const ENVELOPE_OVERHEAD = HEADER_BYTES + TAG_BYTES

const ALGORITHM = 'aes-256-gcm'
const KEY_BYTES = 32

/** Builds the typed error a layer reports when opening fails. */
export type OpenFailure = (reason: string, cause?: unknown) => Error

export class AesGcmEnvelope {
  private readonly key: KeyObject
  private readonly version: number

  constructor (key: Uint8Array, version: number) {
    if (!(key instanceof Uint8Array) || key.byteLength !== KEY_BYTES) throw new InvalidInputError(`an AES-256 key is ${KEY_BYTES} bytes`)
    if (!Number.isInteger(version) || version < 0 || version > 255) throw new InvalidInputError('a format version is one byte')
    this.key = createSecretKey(key)
    this.version = version
  }

  /** `plaintext` sealed under a fresh random nonce, bound to `aad`. */
  seal (aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    const length = plaintext.byteLength
    // not from the shared pool: callers may hand `.buffer` on, and every byte is written
    const out = Buffer.allocUnsafeSlow(ENVELOPE_OVERHEAD + length)
    out[0] = this.version
    randomFillSync(out, 1, NONCE_BYTES)
    const cipher = createCipheriv(ALGORITHM, this.key, out.subarray(1, HEADER_BYTES), { authTagLength: TAG_BYTES })
    cipher.setAAD(aad)
    let written = HEADER_BYTES
    written += cipher.update(plaintext).copy(out, written)
    written += cipher.final().copy(out, written)
    if (written !== HEADER_BYTES + length) throw new Error('AES-GCM output length differs from its input')
    cipher.getAuthTag().copy(out, written)
    return out
  }

  /**
   * The plaintext of `sealed`, or the error `fail` builds when it is too short, has
   * another version, or does not authenticate under this key and `aad`. No plaintext
   * is returned before the tag has been checked.
   */
  open (aad: Uint8Array, sealed: Uint8Array, fail: OpenFailure): Uint8Array {
    if (!(sealed instanceof Uint8Array) || sealed.byteLength < ENVELOPE_OVERHEAD) {
      throw fail(`sealed value too short (${sealed?.byteLength} bytes, at least ${ENVELOPE_OVERHEAD})`)
    }
    if (sealed[0] !== this.version) throw fail(`unknown format version ${sealed[0]} (expected ${this.version})`)
    const tagAt = sealed.byteLength - TAG_BYTES
    try {
      const decipher = createDecipheriv(ALGORITHM, this.key, sealed.subarray(1, HEADER_BYTES), { authTagLength: TAG_BYTES })
      decipher.setAAD(aad)
      decipher.setAuthTag(sealed.subarray(tagAt))
      const body = decipher.update(sealed.subarray(HEADER_BYTES, tagAt))
      const rest = decipher.final()
      return rest.byteLength === 0 ? body : Buffer.concat([body, rest])
    } catch (err) {
      throw fail('authentication failed: wrong key, tampered bytes, or a value moved from elsewhere', err)
    }
  }
}
