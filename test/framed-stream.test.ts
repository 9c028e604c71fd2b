import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Libp2p, Stream } from '@libp2p/interface'
import { FramedStream } from '../src/adapters/libp2p/wire/framed-stream.ts'
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
