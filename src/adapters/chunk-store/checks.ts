import { ClosedError, InvalidInputError, TooLargeError, throwIfAborted } from '../../errors.ts'
import { isChunkId, MAX_STORED_CHUNK_BYTES, type ChunkId } from '../../domain/formats/chunk-id.ts'

/** The argument checks every ChunkStore adapter makes before touching its medium. */
export function checkCall (closed: boolean, id: ChunkId | undefined, signal?: AbortSignal): void {
  if (closed) throw new ClosedError('the chunk store is closed')
  throwIfAborted(signal)
  if (id !== undefined && !isChunkId(id)) {
    throw new InvalidInputError(`not a chunk id: ${JSON.stringify(String(id).slice(0, 80))}`)
  }
}

export function checkValue (bytes: Uint8Array): void {
  if (!(bytes instanceof Uint8Array)) throw new InvalidInputError('a chunk value must be a Uint8Array')
  if (bytes.byteLength > MAX_STORED_CHUNK_BYTES) {
    throw new TooLargeError(`chunk of ${bytes.byteLength} bytes exceeds ${MAX_STORED_CHUNK_BYTES}`)
  }
}
