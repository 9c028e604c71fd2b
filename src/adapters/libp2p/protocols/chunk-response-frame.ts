import { encodeVarint, frameOf, type EncodedFrame } from '../wire/framed-stream.ts'
import { SessionResponseCodec } from '../wire/messages.ts'

/** SessionResponse.chunk: field 3, wire type 2 (length-delimited). */
const CHUNK_TAG = 0x1a
/** ChunkData.data: field 2, wire type 2. */
const DATA_TAG = Uint8Array.of((2 << 3) | 2)

/**
 * The answer to a get, framed around the chunk's bytes rather than through the codec,
 * which would copy every chunk (~1.5 ms per MiB) into a new buffer on the storage
 * node. The bytes on the wire are exactly the codec's (tested).
 */
export function encodeChunkResponse (chunk: { chunkId: string, data: Uint8Array }): EncodedFrame {
  const { chunkId, data } = chunk
  // the codec leaves out empty bytes: this is the tag, the length and ChunkData's chunk_id
  const head = SessionResponseCodec.encode({ chunk: { chunkId, data: new Uint8Array(0) } })
  if (data.byteLength === 0) return frameOf([head])
  const [innerLength, lengthBytes] = readVarint(head, 1)
  const inner = head.subarray(1 + lengthBytes)
  if (head[0] !== CHUNK_TAG || inner.byteLength !== innerLength) throw new Error('unexpected SessionResponse encoding')
  const dataLength = encodeVarint(data.byteLength)
  const total = innerLength + DATA_TAG.byteLength + dataLength.byteLength + data.byteLength
  return frameOf([Uint8Array.of(CHUNK_TAG), encodeVarint(total), inner, DATA_TAG, dataLength, data])
}

function readVarint (bytes: Uint8Array, at: number): [number, number] {
  let value = 0
  for (let i = 0; i < 5 && at + i < bytes.byteLength; i++) {
    const byte = bytes[at + i]!
    value += (byte & 0x7f) * 2 ** (7 * i)
    if ((byte & 0x80) === 0) return [value, i + 1]
  }
  throw new Error('unexpected SessionResponse encoding')
}
