import { InvalidInputError } from '../../errors.ts'

/**
 * Fixed-size chunking of a byte stream: every chunk is `chunkSize` bytes except the
 * last, which is shorter (never empty); an empty stream has no chunks.
 *
 * Fixed size rather than content-defined: chunks are encrypted with a fresh nonce and
 * addressed by their ciphertext (chunk-id.ts), so nothing deduplicates across versions
 * anyway, and fixed offsets make a byte range map to a chunk index by division.
 *
 * Memory: the chunker holds at most one chunk it is filling plus the input buffer it
 * is reading. A full chunk is handed out only once the next input byte arrives (that is
 * how it knows the chunk is not the last), and the next chunk is allocated after that.
 * Chunks are fresh buffers the consumer owns: reusing source buffers (as some streams
 * do) cannot change a chunk already handed out.
 */

/** 1 MiB: large enough that per-chunk costs (a proof session lookup, a round trip, 29 bytes of AEAD overhead) vanish, small enough to stream. */
export const CHUNK_SIZE = 1024 * 1024

export interface ChunkerOptions {
  /** Bytes per chunk; default CHUNK_SIZE. */
  chunkSize?: number
  /**
   * The stream's length as the caller found it (a file's size), a hint only: a chunk is
   * first allocated no larger than the bytes left by it, and grown to the chunk size if
   * more come. A put of 20 KiB files otherwise zeroed a 1 MiB chunk for each of them.
   */
  expectedBytes?: number
}

/** A chunk with its place in the file, as the owner layer binds it (owner-layer.ts). */
export interface PositionedChunk {
  /** 0, 1, 2, ... */
  index: number
  /** True for the last chunk of the file only. */
  final: boolean
  bytes: Uint8Array
}

/** The chunks of `source` as bytes. */
export async function * fixedSizeChunks (
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options?: ChunkerOptions
): AsyncGenerator<Uint8Array, void, undefined> {
  for await (const chunk of positionedChunks(source, options)) yield chunk.bytes
}

/** The chunks of `source` with their index and whether each is the last one. */
export async function * positionedChunks (
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options?: ChunkerOptions
): AsyncGenerator<PositionedChunk, void, undefined> {
  const size = options?.chunkSize ?? CHUNK_SIZE
  if (!Number.isSafeInteger(size) || size < 1) throw new InvalidInputError(`chunk size must be a positive integer, got ${size}`)

  const expected = options?.expectedBytes
  let index = 0
  let filling: Uint8Array | undefined // allocated when its first byte arrives
  let filled = 0
  let full: Uint8Array | undefined // complete, waiting to learn whether it is the last

  for await (const input of source) {
    if (!(input instanceof Uint8Array)) throw new InvalidInputError('the chunker reads Uint8Array buffers only')
    let offset = 0
    while (offset < input.byteLength) {
      if (full !== undefined) {
        const bytes = full
        full = undefined
        yield { index: index++, final: false, bytes }
      }
      filling ??= new Uint8Array(expected === undefined ? size : Math.min(size, Math.max(1, expected - index * size)))
      const n = Math.min(size - filled, input.byteLength - offset)
      if (filled + n > filling.byteLength) {
        // longer than the hint said: the chunk gets its whole size
        const grown = new Uint8Array(size)
        grown.set(filling.subarray(0, filled))
        filling = grown
      }
      filling.set(input.subarray(offset, offset + n), filled)
      filled += n
      offset += n
      if (filled === size) {
        full = filling
        filling = undefined
        filled = 0
      }
    }
  }

  if (full !== undefined) {
    yield { index, final: true, bytes: full }
  } else if (filling !== undefined) {
    // a copy of the used part, so a short last chunk does not pin a whole chunk's memory
    yield { index, final: true, bytes: filled === filling.byteLength ? filling : filling.slice(0, filled) }
  }
}
