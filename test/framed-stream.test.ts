import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Libp2p, Stream } from '@libp2p/interface'
import { FramedStream, JOINED_SEND_BYTES, joinedSends, frameOf } from '../src/adapters/libp2p/wire/framed-stream.ts'
import type { MessageCodec } from '../src/adapters/libp2p/wire/messages.ts'
import { sendWithBackPressure } from '../src/adapters/libp2p/wire/send-with-back-pressure.ts'
import { startClientHost } from './helpers/storage-node.ts'
import { waitFor } from './helpers/wait-for.ts'

const MIB = 1024 * 1024
const FRAMES = 64
const SINK = '/quloud-test/framed-sink/1.0.0'
const raw: MessageCodec<Uint8Array> = { encode: (m) => m, decode: (m) => m }

/** A 1 MiB frame: varint(2^20) then the payload, its first byte the frame's index. */
function frame (index: number): Uint8Array {
  const bytes = new Uint8Array(3 + MIB)
  bytes.set([0x80, 0x80, 0x40, index])
  return bytes
}

describe('FramedStream reading from a fast peer', () => {
  let sender: Libp2p
  let receiver: Libp2p
  let inbound: { stream: Stream, framed: FramedStream } | undefined

  before(async () => {
    sender = await startClientHost()
    receiver = await startClientHost()
    await receiver.handle(SINK, (stream) => {
      inbound = { stream, framed: new FramedStream(stream, { maxFrameBytes: MIB + 16, idleTimeoutMs: 30_000 }) }
    })
    await sender.peerStore.merge(receiver.peerId, { multiaddrs: receiver.getMultiaddrs() })
  })

  after(async () => {
    await sender.stop()
    await receiver.stop()
  })

  it('a reader that stops reading pauses the peer: it cannot push more than a window past us', async () => {
    const stream = await sender.dialProtocol(receiver.peerId, SINK)
    let accepted = 0
    let waiting = false
    const sending = (async () => {
      for (let i = 0; i < FRAMES; i++) {
        const bytes = frame(i)
        waiting = true
        await sendWithBackPressure(stream, bytes)
        waiting = false
        accepted += bytes.byteLength
      }
      await stream.close()
    })()
    const { stream: theirs, framed } = await waitFor(() => inbound, { what: 'the inbound stream' })
    assert.equal((await framed.read(raw))![0], 0)
    // the busy reader reads nothing more; the peer must come to a stop
    await waitFor(() => theirs.readStatus === 'paused' && waiting, { what: 'the reader to pause the peer and the peer to wait' })
    await sleep(500)
    assert.ok(waiting, 'the sender is held back')
    assert.ok(accepted <= 24 * MIB, `the peer got ${accepted / MIB} MiB of ${FRAMES} past a reader that read 1 MiB`)
    for (let i = 1; i < FRAMES; i++) assert.equal((await framed.read(raw))![0], i, `frame ${i} in order`)
    assert.equal(await framed.read(raw), undefined)
    await sending
  })
})

/**
 * The trickle of the hostile-federation issue: a peer sending a byte every idle timeout
 * less a second was never dropped. A frame must now arrive whole within its deadline.
 */
describe('FramedStream reading from a peer that trickles', () => {
  const TRICKLE = '/quloud-test/framed-trickle/1.0.0'
  let sender: Libp2p
  let receiver: Libp2p
  let result: Promise<unknown> | undefined

  before(async () => {
    sender = await startClientHost()
    receiver = await startClientHost()
    await receiver.handle(TRICKLE, (stream) => {
      const framed = new FramedStream(stream, { maxFrameBytes: 4096, idleTimeoutMs: 400, frameDeadlineMs: 1000 })
      result = framed.read(raw).then((frame) => frame, (err: Error) => err)
    })
    await sender.peerStore.merge(receiver.peerId, { multiaddrs: receiver.getMultiaddrs() })
  })
  after(async () => {
    await sender.stop()
    await receiver.stop()
  })

  it('a frame that takes longer than its deadline fails with PeerTimeoutError, though no gap reached the idle timeout', async () => {
    const stream = await sender.dialProtocol(receiver.peerId, TRICKLE)
    const started = Date.now()
    const trickle = (async () => {
      await sendWithBackPressure(stream, Uint8Array.of(100)) // a 100-byte frame, then a byte every 300 ms
      for (let i = 0; i < 20 && stream.status === 'open'; i++) {
        await sleep(300)
        await sendWithBackPressure(stream, Uint8Array.of(i)).catch(() => {})
      }
    })()
    const outcome = await waitFor(() => result, { what: 'the inbound read' }).then(async (r) => r)
    assert.equal((outcome as Error)?.name, 'PeerTimeoutError')
    assert.match((outcome as Error).message, /too slowly/)
    assert.ok(Date.now() - started < 3000, 'dropped at its deadline, not after the whole trickle')
    stream.abort(new Error('done'))
    await trickle.catch(() => {})
  })
})

describe('joinedSends', () => {
  it('joins frames in order while they fit, sends a larger one alone, and counts what each send joins', () => {
    const frame = (bytes: number, fill: number): ReturnType<typeof frameOf> => frameOf([new Uint8Array(bytes).fill(fill)])
    const frames = [frame(1000, 1), frame(1000, 2), frame(JOINED_SEND_BYTES, 3), frame(10, 4), frame(JOINED_SEND_BYTES - 5, 5)]
    const sends = [...joinedSends(frames)]
    assert.deepEqual(sends.map((s) => s.frames), [2, 1, 1, 1])
    assert.deepEqual(sends.flatMap((s) => s.parts), frames.flatMap((f) => f.parts), 'every part, in order, uncopied')
    for (const send of sends) assert.equal(send.byteLength, send.parts.reduce((sum, p) => sum + p.byteLength, 0))
  })
})

describe('FramedStream.writeAll', () => {
  it('a frame that fails to encode still releases what every item held, and nothing twice', async () => {
    // writeAll encodes before it touches the stream: a bare instance is enough here
    const framed = Object.create(FramedStream.prototype) as FramedStream
    const released: number[] = []
    await assert.rejects(framed.writeAll([1, 2, 3], (n) => { if (n === 2) throw new Error('cannot encode'); return frameOf([Uint8Array.of(n)]) }, (n) => { released.push(n) }), { message: 'cannot encode' })
    assert.deepEqual(released, [1, 2, 3])
  })
})
