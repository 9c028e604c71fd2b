import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Uint8ArrayList } from 'uint8arraylist'
import { PipelinedExchange } from '../src/adapters/libp2p/protocols/pipelined-exchange.ts'
import type { EncodedFrame, FramedStream } from '../src/adapters/libp2p/wire/framed-stream.ts'
import type { MessageCodec } from '../src/adapters/libp2p/wire/messages.ts'

const bytesCodec: MessageCodec<Uint8Array> = { encode: (m) => m, decode: (b) => b.slice() }

/** The parts of FramedStream an exchange uses: each send is recorded, answers are handed out in order. */
function fakeFramed (answers: Uint8Array[], fail?: Error): { framed: FramedStream, sends: Uint8Array[] } {
  const sends: Uint8Array[] = []
  let wake: (() => void) | undefined
  const framed = {
    writeEncoded: async (frame: EncodedFrame) => {
      if (fail !== undefined) throw fail
      sends.push(new Uint8ArrayList(...frame.parts).subarray())
      wake?.()
    },
    read: async () => {
      while (sends.length === 0) await new Promise<void>((resolve) => { wake = resolve })
      return answers.shift()
    },
    abort: () => {}
  }
  return { framed: framed as unknown as FramedStream, sends }
}

describe('PipelinedExchange', () => {
  it('sends the requests made in one turn as one message, in order, and matches answers in order', async () => {
    const { framed, sends } = fakeFramed([Uint8Array.of(10), Uint8Array.of(20), Uint8Array.of(30)])
    const exchange = new PipelinedExchange(framed, bytesCodec, bytesCodec)
    const answers = await Promise.all([1, 2, 3].map(async (n) => exchange.exchange(Uint8Array.of(n))))
    assert.deepEqual(answers.map((a) => a[0]), [10, 20, 30])
    // each frame is its length (1) then its byte
    assert.deepEqual(sends, [Uint8Array.of(1, 1, 1, 2, 1, 3)])
  })

  it('a message carries no more than about 256 KiB of queued frames: the rest goes in the next', async () => {
    const big = new Uint8Array(100 * 1024)
    const { framed, sends } = fakeFramed([big, big, big, big])
    const exchange = new PipelinedExchange(framed, bytesCodec, bytesCodec)
    await Promise.all([0, 1, 2, 3].map(async () => exchange.exchange(big)))
    assert.equal(sends.length, 2)
    assert.ok(sends[0]!.byteLength > 200 * 1024 && sends[0]!.byteLength <= 256 * 1024, `first message of ${sends[0]!.byteLength} bytes`)
  })

  it('a failed send fails every request waiting, and those made after it', async () => {
    const { framed } = fakeFramed([], new Error('stream reset'))
    const exchange = new PipelinedExchange(framed, bytesCodec, bytesCodec)
    const results = await Promise.allSettled([1, 2].map(async (n) => exchange.exchange(Uint8Array.of(n))))
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected'])
    await assert.rejects(exchange.exchange(Uint8Array.of(3)), { message: 'stream reset' })
  })
})
