import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { Uint8ArrayList } from 'uint8arraylist'
import { encodeChunkResponse } from '../src/adapters/libp2p/protocols/chunk-response-frame.ts'
import { encodeFrame } from '../src/adapters/libp2p/wire/framed-stream.ts'
import { SessionResponseCodec } from '../src/adapters/libp2p/wire/messages.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'

const bytesOf = (parts: readonly Uint8Array[]): Uint8Array => new Uint8ArrayList(...parts).subarray()

describe('encodeChunkResponse', () => {
  it('frames exactly the bytes the codec does, for lengths around every varint boundary', () => {
    for (const size of [0, 1, 127, 128, 16_383, 16_384, 2_097_151, 1024 * 1024 + 1024]) {
      const data = randomBytes(size)
      const chunk = { chunkId: chunkIdOf(data), data }
      const frame = encodeChunkResponse(chunk)
      assert.deepEqual(bytesOf(frame.parts), bytesOf(encodeFrame(SessionResponseCodec, { chunk }).parts), `${size} bytes`)
      assert.equal(frame.byteLength, bytesOf(frame.parts).byteLength)
      // parts[0] is the frame's length prefix; what follows decodes to the same answer
      const decoded = SessionResponseCodec.decode(bytesOf(frame.parts.slice(1)))
      assert.ok('chunk' in decoded && decoded.chunk.chunkId === chunk.chunkId && Buffer.from(decoded.chunk.data).equals(data))
    }
  })

  it('does not copy the chunk: the frame holds the stored buffer', () => {
    const data = randomBytes(4096)
    assert.equal(encodeChunkResponse({ chunkId: chunkIdOf(data), data }).parts.at(-1), data)
  })
})
