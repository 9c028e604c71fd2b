import { InvalidInputError } from '../../errors.ts'
import { CHUNK_SIZE } from './chunker.ts'

/**
 * How an erasure-coded file is cut (protocol-spec/manifests-and-catalogue.md, version 3).
 *
 * The plaintext is read in stripes of `data × shardSize` bytes; each stripe is split
 * into `data` shards and Reed-Solomon coding adds `parity` more, so any `data` of the
 * `data + parity` shards of a stripe give it back. The last stripe is zero-padded to a
 * whole stripe: the manifest's `size` says where the file ends. Shards are then sealed
 * one by one with the owner layer like chunks (owner-layer.ts), at their flat index
 * `stripe × (data + parity) + shard`, the last shard of the file being the final one,
 * so a shard opens only at its own place.
 *
 * `shardSize` is chosen once per file: a whole stripe's worth for a small file (no
 * padding past the next multiple of 8 per shard), CHUNK_SIZE for a large one, so that
 * memory per stripe is bounded by `(data + parity) × CHUNK_SIZE` whatever the file size.
 */

export interface ErasureScheme {
  /** k: shards that carry the stripe's bytes; any k of a stripe restore it. */
  data: number
  /** m: parity shards; a stripe survives the loss of any m of its shards. */
  parity: number
}

/** What a `put` may ask for, or a node's `erasure` setting says. */
export type SchemeChoice =
  | { kind: 'auto' }
  | { kind: 'replicas', replicas: number }
  | { kind: 'erasure', scheme: ErasureScheme }

/** GF(2^8) Reed-Solomon codes have at most 256 shards; the format allows no more. */
export const MAX_STRIPE_SHARDS = 256
/** Shard sizes are multiples of this, so that word-wise codecs need no copy. */
export const SHARD_ALIGNMENT = 8
/** The most replicas a put may ask for. */
export const MAX_REPLICAS = 16

/** `scheme` when it is a valid k+m; InvalidInputError otherwise. */
export function checkScheme (scheme: ErasureScheme): ErasureScheme {
  const { data, parity } = scheme
  if (!Number.isSafeInteger(data) || data < 1) throw new InvalidInputError(`an erasure scheme has at least 1 data shard, got ${data}`)
  if (!Number.isSafeInteger(parity) || parity < 1) throw new InvalidInputError(`an erasure scheme has at least 1 parity shard, got ${parity}`)
  if (data + parity > MAX_STRIPE_SHARDS) throw new InvalidInputError(`an erasure scheme has at most ${MAX_STRIPE_SHARDS} shards, got ${data}+${parity}`)
  return { data, parity }
}

/** "K+M" as a scheme; InvalidInputError otherwise. */
export function parseScheme (text: string): ErasureScheme {
  const match = /^(\d{1,3})\+(\d{1,3})$/.exec(text)
  if (match === null) throw new InvalidInputError(`an erasure scheme is written K+M (data+parity shards), such as 4+2; got ${JSON.stringify(text)}`)
  return checkScheme({ data: Number(match[1]), parity: Number(match[2]) })
}

export function formatScheme (scheme: ErasureScheme): string {
  return `${scheme.data}+${scheme.parity}`
}

/** "auto", "K+M" or "replicas:N" (the `erasure` setting) as a choice; InvalidInputError otherwise. */
export function parseSchemeChoice (text: string): SchemeChoice {
  if (text === 'auto') return { kind: 'auto' }
  const replicas = /^replicas:(\d{1,2})$/.exec(text)
  if (replicas !== null) {
    const n = Number(replicas[1])
    if (n < 1 || n > MAX_REPLICAS) throw new InvalidInputError(`replicas must be from 1 to ${MAX_REPLICAS}, got ${n}`)
    return { kind: 'replicas', replicas: n }
  }
  if (/^\d/.test(text)) return { kind: 'erasure', scheme: parseScheme(text) }
  throw new InvalidInputError(`expected "auto", "K+M" (such as 4+2) or "replicas:N", got ${JSON.stringify(text)}`)
}

/** Below this many storage nodes `auto` keeps whole copies. */
export const AUTO_ERASURE_MIN_NODES = 6
/** `auto` spreads a stripe over at most this many nodes... */
export const AUTO_MAX_SHARDS = 12
/** ...with at most this many parity shards. */
export const AUTO_MAX_PARITY = 6
/** What `auto` stores below AUTO_ERASURE_MIN_NODES, and for files below AUTO_ERASURE_MIN_BYTES. */
export const AUTO_REPLICAS = 3
/**
 * Files smaller than this are copies under `auto`: a get proves to every holder it reads
 * from (~120 ms of owner CPU a proof), so k + 1 proofs for a few kilobytes cost more
 * than the room two more copies take.
 */
export const AUTO_ERASURE_MIN_BYTES = CHUNK_SIZE

/**
 * The concrete scheme `auto` means with `nodes` storage nodes to place on: below
 * AUTO_ERASURE_MIN_NODES, AUTO_REPLICAS copies (a k+m over four or five nodes leaves
 * no node to spare when one is away at put time); from there, n = min(nodes,
 * AUTO_MAX_SHARDS) shards per stripe, m = min(AUTO_MAX_PARITY, floor(n / 2)) of them
 * parity: 3+3 on 6 nodes, 4+4 on 8, 6+6 from 12 on, never more than 2× the file's size.
 */
export function autoScheme (nodes: number): SchemeChoice & { kind: 'replicas' | 'erasure' } {
  if (!(nodes >= AUTO_ERASURE_MIN_NODES)) return { kind: 'replicas', replicas: AUTO_REPLICAS }
  const n = Math.min(Math.floor(nodes), AUTO_MAX_SHARDS)
  const parity = Math.min(AUTO_MAX_PARITY, Math.floor(n / 2))
  return { kind: 'erasure', scheme: { data: n - parity, parity } }
}

/** The shard size of a file of `size` bytes under `scheme`: see the module comment. */
export function shardSizeFor (size: number, scheme: ErasureScheme): number {
  if (!Number.isSafeInteger(size) || size < 0) throw new InvalidInputError(`a file size is a non-negative integer, got ${size}`)
  const perShard = Math.ceil(size / checkScheme(scheme).data)
  return Math.min(CHUNK_SIZE, Math.max(SHARD_ALIGNMENT, Math.ceil(perShard / SHARD_ALIGNMENT) * SHARD_ALIGNMENT))
}

/** Whether `shardSize` is one a manifest may carry. */
export function isValidShardSize (shardSize: number): boolean {
  return Number.isSafeInteger(shardSize) && shardSize >= SHARD_ALIGNMENT && shardSize <= CHUNK_SIZE && shardSize % SHARD_ALIGNMENT === 0
}

/** Plaintext bytes one stripe carries. */
export function stripeBytes (scheme: ErasureScheme, shardSize: number): number {
  return scheme.data * shardSize
}

/** Stripes of a file of `size` bytes; 0 for an empty file. */
export function stripeCount (size: number, scheme: ErasureScheme, shardSize: number): number {
  return Math.ceil(size / stripeBytes(scheme, shardSize))
}

/** Shards per stripe. */
export function shardsPerStripe (scheme: ErasureScheme): number {
  return scheme.data + scheme.parity
}

/** The flat index of shard `shard` of stripe `stripe`: the owner layer's chunk index of that shard. */
export function shardIndex (scheme: ErasureScheme, stripe: number, shard: number): number {
  return stripe * shardsPerStripe(scheme) + shard
}
