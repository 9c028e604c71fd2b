import { defineError } from '../../errors.ts'
import { chunkIdMatches, chunkIdOf, type ChunkId } from './chunk-id.ts'
import { CHUNK_SIZE } from './chunker.ts'

/**
 * Packs (docs/small-file-packs.md): the sealed chunks of several small files of one
 * batch stored one after the other as one chunk, so that a put, get or rm of a
 * thousand small files costs a holder tens of stores, records and receipts instead of
 * a thousand. Each packed chunk is sealed exactly as when it is stored alone (its own
 * content key, AAD and nonce), so its chunk id, the hash of its sealed bytes, is the
 * same either way: the owner checks a slice against it before it opens it, and a
 * holder answering with another pack, or a pack with one byte changed, is caught as a
 * wrong chunk is. protocol-spec/manifests-and-catalogue.md, "Catalogue (version 6)",
 * is normative.
 */

/** Where a file's one sealed chunk is inside a pack. */
export interface PackRef {
  /** The pack's chunk id: the hash of the whole pack. */
  id: ChunkId
  /** Where the slice starts in the pack. */
  offset: number
  /** The slice's length: the sealed chunk's. */
  length: number
}

/** A pack is at most this long: one chunk, as the owner layer cuts them. */
export const PACK_MAX_BYTES = CHUNK_SIZE
/** Sealed chunks up to this long are packed; a larger one is stored alone. */
export const PACKED_CHUNK_MAX_BYTES = 256 * 1024

/** A pack or a slice of one breaks the rules: out of the pack's bounds, or not the chunk it is named as. */
export const InvalidPackError = defineError('InvalidPackError', 'invalid-pack')
export type InvalidPackError = InstanceType<typeof InvalidPackError>

/**
 * What is wrong with `ref` as the place of the sealed chunk `chunkId` of `sealedLength`
 * bytes, or undefined: the rules a reader checks before it fetches anything. A pack is
 * never the chunk itself, so a one-slice pack is refused (such a chunk is stored alone).
 */
export function packRefProblem (ref: PackRef, chunkId: ChunkId, sealedLength: number): string | undefined {
  if (ref.id === chunkId) return 'a pack is not the chunk it holds'
  if (ref.length !== sealedLength) return `the slice of a ${sealedLength}-byte sealed chunk is ${sealedLength} bytes, not ${ref.length}`
  if (ref.length > PACKED_CHUNK_MAX_BYTES) return `only sealed chunks of at most ${PACKED_CHUNK_MAX_BYTES} bytes are packed`
  if (ref.offset + ref.length > PACK_MAX_BYTES) return `the slice ends past a pack's ${PACK_MAX_BYTES} bytes`
  return undefined
}

/**
 * The sealed chunk `chunkId` cut from `pack` (the bytes a holder returned for
 * `ref.id`): a view, not a copy, so that the pack's buffer is held only while a slice
 * of it is. InvalidPackError when the slice runs past the pack or its bytes are not
 * the chunk.
 */
export function sliceOfPack (pack: Uint8Array, ref: PackRef, chunkId: ChunkId): Uint8Array {
  if (ref.offset + ref.length > pack.byteLength) {
    throw new InvalidPackError(`pack ${ref.id} is ${pack.byteLength} bytes: no slice at ${ref.offset}+${ref.length}`)
  }
  const slice = pack.subarray(ref.offset, ref.offset + ref.length)
  if (!chunkIdMatches(chunkId, slice)) throw new InvalidPackError(`the slice at ${ref.offset}+${ref.length} of pack ${ref.id} is not chunk ${chunkId}`)
  return slice
}

/** A pack made of sealed chunks, and where each of them is in it, in the order given. */
export interface BuiltPack {
  id: ChunkId
  bytes: Uint8Array
  refs: PackRef[]
}

/**
 * The pack of `sealed` (two chunks at least, each at most PACKED_CHUNK_MAX_BYTES, at
 * most PACK_MAX_BYTES in all), one after the other with nothing between: a holder sees
 * one chunk of random-looking bytes and learns neither how many files it holds nor
 * where one ends (unless it also keeps a rewrite of it without some of them, repack.ts).
 */
export function buildPack (sealed: readonly Uint8Array[]): BuiltPack {
  if (sealed.length < 2) throw new InvalidPackError('a pack holds two chunks at least')
  let total = 0
  for (const chunk of sealed) {
    if (chunk.byteLength > PACKED_CHUNK_MAX_BYTES) throw new InvalidPackError(`a packed chunk is at most ${PACKED_CHUNK_MAX_BYTES} bytes, not ${chunk.byteLength}`)
    total += chunk.byteLength
  }
  if (total > PACK_MAX_BYTES) throw new InvalidPackError(`a pack is at most ${PACK_MAX_BYTES} bytes, not ${total}`)
  const bytes = new Uint8Array(total)
  const places: Array<{ offset: number, length: number }> = []
  let offset = 0
  for (const chunk of sealed) {
    bytes.set(chunk, offset)
    places.push({ offset, length: chunk.byteLength })
    offset += chunk.byteLength
  }
  const id = chunkIdOf(bytes)
  return { id, bytes, refs: places.map((place) => ({ id, ...place })) }
}
