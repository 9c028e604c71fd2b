import { ed25519 } from '@noble/curves/ed25519.js'

/**
 * The Ed25519 the domain signs manifests, pieces and catalogues with (RFC 8032, pure
 * Ed25519). A port in the domain's own terms: the domain imports no adapter, so the
 * assembly installs a faster implementation with `useEd25519` (node:crypto's, in
 * src/adapters/crypto/node-ed25519.ts) and everything else gets @noble's, which needs
 * no platform.
 *
 * Contract of an implementation:
 * - Ed25519 is deterministic: for one seed and message every implementation returns
 *   the same 64 bytes, so swapping one for another changes speed only, never a byte
 *   on disk or on the wire (test/ed25519-engines.test.ts checks RFC 8032's vectors and
 *   agreement on random inputs).
 * - `publicKey` and `sign` take a 32-byte seed; `verify` never throws: a malformed key
 *   or signature is a signature that does not verify.
 * - Implementations may cache per key object (a seed or public key is not mutated
 *   after it is made), never per value they were not given.
 */
export interface Ed25519 {
  publicKey: (seed: Uint8Array) => Uint8Array
  sign: (message: Uint8Array, seed: Uint8Array) => Uint8Array
  verify: (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => boolean
}

/** @noble/curves' Ed25519, in pure JavaScript: ~1 ms a signature on this machine's cores. */
export const nobleEd25519: Ed25519 = {
  publicKey: (seed) => ed25519.getPublicKey(seed),
  sign: (message, seed) => ed25519.sign(message, seed),
  verify: (signature, message, publicKey) => {
    try {
      return ed25519.verify(signature, message, publicKey)
    } catch {
      return false
    }
  }
}

let installed: Ed25519 = nobleEd25519

/** The implementation in use. */
export function ed25519Engine (): Ed25519 {
  return installed
}

/** Makes `engine` the implementation every later signature and check uses. */
export function useEd25519 (engine: Ed25519): void {
  installed = engine
}
