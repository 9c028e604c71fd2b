import { frameOf, lengthDelimitedField, type EncodedFrame } from '../wire/framed-stream.ts'
import { ChunkDataCodec } from '../wire/messages.ts'

/** Field numbers of SessionResponse.chunk and ChunkData.data (protocol-spec/quloud.proto). */
const CHUNK_FIELD = 3
const DATA_FIELD = 2

/**
 * The answer to a get, framed around the chunk's bytes rather than through the codec,
 * which would copy every chunk (~1.5 ms per MiB) into a new buffer on the storage
 * node. The bytes on the wire are exactly the codec's (test/chunk-response-frame.test.ts).
 */
export function encodeChunkResponse (chunk: { chunkId: string, data: Uint8Array }): EncodedFrame {
  const head = ChunkDataCodec.encode({ chunkId: chunk.chunkId, data: new Uint8Array(0) })
  return frameOf(lengthDelimitedField(CHUNK_FIELD, [head, ...lengthDelimitedField(DATA_FIELD, [chunk.data], { omitEmpty: true })]))
}
