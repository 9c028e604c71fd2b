import { createRequire } from 'node:module'
import { AbortError, InvalidInputError } from '../../errors.ts'
import type { AbortOptions } from '../../ports/abort-options.ts'
import type { ErasureCodec, ErasureCodecLimits, ErasureScheme } from '../../ports/erasure-codec.ts'
import { TooFewShardsError, UnsupportedErasureSchemeError } from '../../domain/formats/stripe-errors.ts'

/** The parts of @ronomon/reed-solomon (a N-API addon without types) this adapter uses. */
interface Ronomon {
  MAX_K: number
  MAX_M: number
  create (k: number, m: number): unknown
  encode (context: unknown, sources: number, targets: number, buffer: Buffer, bufferOffset: number, bufferSize: number,
    parity: Buffer, parityOffset: number, paritySize: number, callback: (error?: Error) => void): void
}

const ronomon = createRequire(import.meta.url)('@ronomon/reed-solomon') as Ronomon

/**
 * ErasureCodec over @ronomon/reed-solomon: Cauchy Reed-Solomon in C, run in libuv's
 * thread pool (~1,600 MB/s for 4+2 on this kind of machine), so coding a stripe never
 * blocks the event loop. Up to 24 data and 6 parity shards; shards in multiples of 8.
 * Its contexts are immutable and shared by concurrent calls, so one is kept per scheme.
 */
export class ReedSolomonCodec implements ErasureCodec {
  readonly limits: ErasureCodecLimits = Object.freeze({ maxData: ronomon.MAX_K, maxParity: ronomon.MAX_M, shardAlignment: 8 })
  private readonly contexts = new Map<string, unknown>()
  private readonly scratch = new ScratchBuffers()

  async encode (scheme: ErasureScheme, stripe: Uint8Array, options?: AbortOptions): Promise<Uint8Array> {
    checkAborted(options)
    const context = this.context(scheme)
    if (!(stripe instanceof Uint8Array) || stripe.byteLength === 0 || stripe.byteLength % scheme.data !== 0) {
      throw new InvalidInputError(`a stripe is ${scheme.data} shards of one size, got ${stripe?.byteLength} bytes`)
    }
    const shardSize = stripe.byteLength / scheme.data
    this.checkShardSize(shardSize)
    // every byte of it is a target the addon writes: no need to zero it first
    const parity = Buffer.allocUnsafe(shardSize * scheme.parity)
    await run(context, bits(0, scheme.data), bits(scheme.data, scheme.data + scheme.parity), asBuffer(stripe), parity)
    return plain(parity)
  }

  async decode (scheme: ErasureScheme, shards: ReadonlyArray<Uint8Array | undefined>, options?: AbortOptions): Promise<Uint8Array> {
    checkAborted(options)
    const context = this.context(scheme)
    const { data, parity } = scheme
    if (!Array.isArray(shards) || shards.length !== data + parity) throw new InvalidInputError(`a stripe of ${data}+${parity} has ${data + parity} shard slots, got ${shards?.length}`)
    const present = shards.flatMap((s, i) => s === undefined ? [] : [i])
    if (present.length < data) throw new TooFewShardsError(`a ${data}+${parity} stripe needs ${data} shards, got ${present.length}`)
    const shardSize = shards[present[0]!]!.byteLength
    if (present.some((i) => !(shards[i] instanceof Uint8Array) || shards[i]!.byteLength !== shardSize)) throw new InvalidInputError('the shards of a stripe are byte arrays of one size')
    this.checkShardSize(shardSize)
    // each data slot is either copied from a shard or a target the addon writes; parity
    // slots that are neither are scratch, never returned: nothing needs zeroing
    const stripe = Buffer.allocUnsafe(shardSize * data)
    const parityShards = this.scratch.take(shardSize * parity)
    let sources = 0
    let targets = 0
    for (let i = 0; i < data + parity; i++) {
      const shard = shards[i]
      if (shard !== undefined) {
        (i < data ? stripe : parityShards).set(shard, (i < data ? i : i - data) * shardSize)
        sources |= 1 << i
      } else if (i < data) {
        targets |= 1 << i
      }
    }
    try {
      if (targets !== 0) await run(context, sources, targets, stripe, parityShards)
    } finally {
      this.scratch.give(parityShards)
    }
    return plain(stripe)
  }

  private context (scheme: ErasureScheme): unknown {
    const { data, parity } = scheme
    if (!Number.isSafeInteger(data) || !Number.isSafeInteger(parity) || data < 1 || parity < 1) throw new InvalidInputError(`not an erasure scheme: ${data}+${parity}`)
    if (data > this.limits.maxData || parity > this.limits.maxParity) {
      throw new UnsupportedErasureSchemeError(`${data}+${parity} is beyond this codec: at most ${this.limits.maxData} data and ${this.limits.maxParity} parity shards`)
    }
    const key = `${data}+${parity}`
    let context = this.contexts.get(key)
    if (context === undefined) {
      context = ronomon.create(data, parity)
      this.contexts.set(key, context)
    }
    return context
  }

  private checkShardSize (shardSize: number): void {
    if (!(shardSize > 0) || shardSize % this.limits.shardAlignment !== 0) {
      throw new UnsupportedErasureSchemeError(`shards are multiples of ${this.limits.shardAlignment} bytes, got ${shardSize}`)
    }
  }
}

/**
 * Decoding's parity buffers, kept for the next decode: fresh multi-MiB buffers cost a
 * page fault per 4 KiB, which took two thirds of a decode's time. A few of a few sizes.
 */
class ScratchBuffers {
  private readonly free = new Map<number, Buffer[]>()

  take (size: number): Buffer {
    return this.free.get(size)?.pop() ?? Buffer.allocUnsafeSlow(size)
  }

  give (buffer: Buffer): void {
    // small ones are cheap to allocate; every file's last size is its own: keep few sizes
    if (buffer.byteLength < SCRATCH_MIN_BYTES) return
    if (!this.free.has(buffer.byteLength) && this.free.size >= SCRATCH_SIZES) this.free.clear()
    const list = this.free.get(buffer.byteLength) ?? []
    if (list.length >= SCRATCH_PER_SIZE) return
    list.push(buffer)
    this.free.set(buffer.byteLength, list)
  }
}

const SCRATCH_PER_SIZE = 4
const SCRATCH_SIZES = 4
const SCRATCH_MIN_BYTES = 256 * 1024

async function run (context: unknown, sources: number, targets: number, stripe: Buffer, parity: Buffer): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    ronomon.encode(context, sources, targets, stripe, 0, stripe.byteLength, parity, 0, parity.byteLength, (error) => {
      if (error !== undefined && error !== null) reject(new InvalidInputError(`reed-solomon: ${error.message}`, { cause: error }))
      else resolve()
    })
  })
}

/** Bit flags of shard indexes [from, to). */
function bits (from: number, to: number): number {
  let flags = 0
  for (let i = from; i < to; i++) flags |= 1 << i
  return flags
}

/** A Buffer view of the same bytes: the addon takes Buffers only. */
function asBuffer (bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/** The bytes as a plain Uint8Array, as the port promises: callers compare and slice them as such. */
function plain (buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)
}

function checkAborted (options?: AbortOptions): void {
  if (options?.signal?.aborted === true) throw new AbortError('the erasure coding was cancelled')
}
