import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { Libp2p, Stream } from '@libp2p/interface'
import { encodeFrame, encodeVarint, FramedStream } from '../src/adapters/libp2p/wire/framed-stream.ts'
import { StoreRequestCodec } from '../src/adapters/libp2p/wire/messages.ts'
import { BusyError } from '../src/domain/protocol/federation-errors.ts'
import { isRefusal, ResourceBudget, type StreamBudget } from '../src/domain/resources/resource-budget.ts'
import { startBareHost } from '../src/assembly/host.ts'

const MIB = 2 ** 20
const PROTOCOL = '/quloud-test/budgeted-frames/1.0.0'

describe('FramedStream with a budget', () => {
  let sender: Libp2p
  let receiver: Libp2p
  const budget = new ResourceBudget({
    node: { memory: 64 * MIB, streams: 100 },
    subnet: { memory: 64 * MIB, streams: 100 },
    peer: { memory: 2 * MIB + 1000, streams: 100 },
    protocol: { memory: 64 * MIB, streams: 100 },
    streamMemory: 2 * MIB,
    strangersShare: 1
  })
  const served: Array<{ framed: FramedStream, stream: StreamBudget, first: Promise<unknown> }> = []

  before(async () => {
    sender = await startBareHost()
    receiver = await startBareHost()
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

  async function open (): Promise<Stream> {
    return sender.dialProtocol(receiver.getMultiaddrs()[0]!, PROTOCOL)
  }

  it('reserves a frame at its length prefix: partial frames past the peer\'s budget are refused BUSY, before their bytes are held', async () => {
    const streams = [await open(), await open(), await open()]
    for (const stream of streams) {
      stream.send(encodeVarint(MIB))
      stream.send(new Uint8Array(100))
    }
    while (served.length < 3) await new Promise((resolve) => setTimeout(resolve, 10))
    const refused = await Promise.race([Promise.any(served.map(async (s) => s.first.then((r) => r instanceof BusyError ? r : Promise.reject(r)))), new Promise((resolve) => setTimeout(resolve, 5000, 'none'))])
    assert.ok(refused instanceof BusyError, 'the third partial frame is refused')
    assert.equal(budget.usageOf('node').memory, 2 * MIB)
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
    assert.equal(budget.usageOf('node').memory, frame.byteLength - frame.parts[0]!.byteLength) // the frame less its length prefix
    held.release()
    assert.equal(budget.usageOf('node').memory, 0)
    for (const part of frame.parts) stream.send(part)
    const again = await served[0]!.framed.read(StoreRequestCodec)
    assert.equal(again?.data.byteLength, MIB)
    assert.equal(budget.usageOf('node').memory, 0)
    served[0]!.stream.close()
    stream.abort(new Error('done'))
  })
})
