import type { ErasureScheme } from '../domain/formats/stripe-layout.ts'
import type { AbortOptions } from './abort-options.ts'

export type { ErasureScheme }
// the errors of the contract below: src/domain/formats/stripe-errors.ts

/**
 * ErasureCodec: systematic Reed-Solomon coding of one stripe at a time.
 *
 * A stripe is `data` shards of `shardSize` bytes each, laid end to end in one buffer;
 * the codec computes `parity` more shards of the same size such that any `data` of the
 * `data + parity` shards give back the stripe. Systematic: the data shards are the
 * stripe's own bytes, so a reader that gets every data shard decodes nothing.
 *
 * Contract, tested for every adapter by test/conformance/erasure-codec.suite.ts:
 * - `encode(scheme, stripe)` takes `data × shardSize` bytes and resolves with
 *   `parity × shardSize` bytes of parity (shard `data + i` is bytes
 *   `[i × shardSize, (i + 1) × shardSize)`). It does not change `stripe`.
 * - `decode(scheme, shards)` takes the `data + parity` shards of a stripe by index,
 *   `undefined` where one is missing, at least `data` of them present and all of one
 *   size; it resolves with the stripe's `data × shardSize` bytes, identical to what
 *   was encoded, for every choice of which shards are present. It does not change the
 *   shards given. It cannot tell a wrong shard from a right one: callers verify each
 *   shard (id and AEAD) before handing it over.
 * - Fewer than `data` shards, shards of different sizes, or a count other than
 *   `data + parity` reject with TooFewShardsError / InvalidInputError before any work.
 * - A scheme beyond `limits`, or a shard size that is not a positive multiple of
 *   `limits.shardAlignment`, rejects with UnsupportedErasureSchemeError.
 * - Both are safe to call concurrently, and neither blocks the event loop for long: a
 *   native adapter runs in the thread pool.
 * - Both check their AbortSignal before any work and reject with AbortError when it
 *   has fired.
 * - The result is a fresh buffer the caller owns.
 */
export interface ErasureCodec {
  /** What this codec can do; a scheme beyond it is refused before any shard is placed. */
  readonly limits: ErasureCodecLimits
  encode (scheme: ErasureScheme, stripe: Uint8Array, options?: AbortOptions): Promise<Uint8Array>
  decode (scheme: ErasureScheme, shards: ReadonlyArray<Uint8Array | undefined>, options?: AbortOptions): Promise<Uint8Array>
}

export interface ErasureCodecLimits {
  maxData: number
  maxParity: number
  /** Shard sizes must be multiples of this many bytes. */
  shardAlignment: number
}
