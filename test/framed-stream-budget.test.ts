import assert from 'node:assert/strict'
import { after, afterEach, before, describe, it } from 'node:test'
import type { Libp2p, Stream } from '@libp2p/interface'
import { encodeFrame, encodeVarint, FramedStream } from '../src/adapters/libp2p/wire/framed-stream.ts'
import { StoreRequestCodec } from '../src/adapters/libp2p/wire/messages.ts'
import { BusyError } from '../src/domain/protocol/federation-errors.ts'
import { isRefusal, ResourceBudget, type StreamBudget } from '../src/domain/resources/resource-budget.ts'
import { startBareHost } from '../src/assembly/host.ts'
import { FIRST_STREAM_WINDOW_BYTES } from '../src/adapters/libp2p/create-host.ts'

const MIB = 2 ** 20
const PROTOCOL = '/quloud-test/budgeted-frames/1.0.0'
/**
 * The receiver's windows never grow past yamux's first one: yamux doubles a window at an
 * update within four round trips of the last, and its round trip is a ping that may not
 * have finished (seen in CI: no window grew, all three frames fit, none was refused).
 */
const W = FIRST_STREAM_WINDOW_BYTES

describe('FramedStream with a budget', () => {
  let sender: Libp2p
  let receiver: Libp2p
  const budget = new ResourceBudget({
    node: { memory: 64 * MIB, streams: 100 },
    subnet: { memory: 64 * MIB, streams: 100 },
    // two streams' frames and the windows of three
    peer: { memory: 2 * MIB + 3 * W + 1000, streams: 100 },
    protocol: { memory: 64 * MIB, streams: 100 },
    streamMemory: 2 * MIB + W,
    strangersShare: 1
  })
  const served: Array<{ framed: FramedStream, stream: StreamBudget, first: Promise<unknown> }> = []

  before(async () => {
    sender = await startBareHost()
    receiver = await startBareHost({ maxStreamWindowBytes: W })
    await receiver.handle(PROTOCOL, (stream, connection) => {
      const owned = budget.openStream({ peer: connection.remotePeer.toString(), subnet: 'lo', protocol: PROTOCOL, known: false })
      assert.ok(!isRefusal(owned))
      const framed = new FramedStream(stream, { maxFrameBytes: 2 * MIB, idleTimeoutMs: 10_000, budget: owned })
      served.push({ framed, stream: owned, first: framed.readHeld(StoreRequestCodec).catch((err: unknown) => err) })
    })
  })
  after(async () => {
    await sender.stop()
    await receiver.stop()
  })
  // a test that failed leaves nothing for the next one: its streams, their reservations
  const dialled: Stream[] = []
  afterEach(() => {
    for (const s of served.splice(0)) { s.stream.close(); s.framed.abort(new Error('done')) }
    for (const stream of dialled.splice(0)) stream.abort(new Error('done'))
  })

  async function open (): Promise<Stream> {
    const stream = await sender.dialProtocol(receiver.getMultiaddrs()[0]!, PROTOCOL)
    dialled.push(stream)
    return stream
  }

  it('reserves a stream\'s window from its start and a frame at its length prefix: partial frames past the peer\'s budget are refused BUSY, before their bytes are held', async () => {
    const streams = [await open(), await open(), await open()]
    // one send, so the 100 bytes cannot arrive after the refusal
    for (const stream of streams) stream.send(Uint8Array.of(...encodeVarint(MIB), ...new Uint8Array(100)))
    while (served.length < 3) await new Promise((resolve) => setTimeout(resolve, 10))
    const refused = await Promise.race([Promise.any(served.map(async (s) => s.first.then((r) => r instanceof BusyError ? r : Promise.reject(r)))), new Promise((resolve) => setTimeout(resolve, 5000, 'none'))])
    assert.ok(refused instanceof BusyError, 'the third partial frame is refused')
    // two frames with their windows, and the refused stream's window with the 100 bytes it did send
    assert.equal(budget.usageOf('node').memory, 2 * (MIB + W) + W + 100)
    for (const s of served.splice(0)) { s.stream.close(); s.framed.abort(new Error('done')) }
    for (const stream of streams) stream.abort(new Error('done'))
    assert.equal(budget.usageOf('node').memory, 0)
  })

  it('readHeld keeps the frame reserved until the caller releases it; read releases at once', async () => {
    const stream = await open()
    const request = { chunkId: 'x', data: new Uint8Array(MIB), commitment: '1', deleteCommitment: '1' }
    const frame = encodeFrame(StoreRequestCodec, request)
    for (const part of frame.parts) stream.send(part)
    while (served.length < 1) await new Promise((resolve) => setTimeout(resolve, 10))
    const held = await served[0]!.first as { message: typeof request, release: () => void }
    assert.equal(held.message.data.byteLength, MIB)
    // the frame less its length prefix, and the window the peer may still send
    assert.equal(budget.usageOf('node').memory, frame.byteLength - frame.parts[0]!.byteLength + W)
    held.release()
    assert.equal(budget.usageOf('node').memory, W)
    for (const part of frame.parts) stream.send(part)
    const again = await served[0]!.framed.read(StoreRequestCodec)
    assert.equal(again?.data.byteLength, MIB)
    assert.equal(budget.usageOf('node').memory, W)
    served[0]!.stream.close()
    assert.equal(budget.usageOf('node').memory, 0)
    served.splice(0)
    stream.abort(new Error('done'))
  })

  it('read ahead of a reader that does not read is reserved as it comes: the stream is paused when its reservation cannot grow, and every frame still comes through', async () => {
    const stream = await open()
    const frames = Array.from({ length: 24 }, (_, i) => encodeFrame(StoreRequestCodec, { chunkId: String(i), data: new Uint8Array(256 * 1024).fill(i), commitment: '1', deleteCommitment: '1' }))
    // as fast as the window lets it: the sender's own queue is its memory, not ours
    const sent = (async () => { for (const frame of frames) for (const part of frame.parts) stream.send(part) })()
    while (served.length < 1) await new Promise((resolve) => setTimeout(resolve, 10))
    const { framed, stream: owned } = served[0]!
    let peak = 0
    // sampled until the peer has filled the read-ahead (10 s at most: load only slows it)
    for (let i = 0; i < 400 && (i < 40 || peak < MIB); i++) {
      await new Promise((resolve) => setTimeout(resolve, 25))
      // what the stream holds (our buffer, libp2p's paused buffer) is never more than it reserved
      assert.ok(framed.heldBytes <= owned.heldBytes, `holds ${framed.heldBytes} B, reserved ${owned.heldBytes} B`)
      peak = Math.max(peak, framed.heldBytes)
    }
    assert.ok(peak >= MIB, `the peer did fill the read-ahead (${peak} B)`)
    const first = await served[0]!.first as { message: { chunkId: string }, release: () => void }
    first.release()
    assert.equal(first.message.chunkId, '0')
    for (let i = 1; i < frames.length; i++) {
      const got = await framed.read(StoreRequestCodec)
      assert.equal(got?.chunkId, String(i))
      assert.ok(framed.heldBytes <= owned.heldBytes)
    }
    await sent
    owned.close()
    stream.abort(new Error('done'))
    served.splice(0)
  })
})
