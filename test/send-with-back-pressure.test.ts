import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Libp2p, Stream } from '@libp2p/interface'
import { sendWithBackPressure, waitUntilWritable, WriteStalledError, type WritableStream } from '../src/adapters/libp2p/wire/send-with-back-pressure.ts'
import { PeerTimeoutError } from '../src/domain/protocol/federation-errors.ts'
import { startClientHost } from './helpers/storage-node.ts'

const MIB = 1024 * 1024
const SLOW_SINK = '/quloud-test/slow-sink/1.0.0'
const SENT_MIB = 32

/**
 * A reader that lets the sender through only a little at a time: the stream stays
 * paused (yamux then stops granting window) except for one message every few ms.
 */
async function drip (stream: Stream): Promise<number> {
  let received = 0
  let gotOne: (() => void) | undefined
  stream.addEventListener('message', (event) => { received += event.data.byteLength; gotOne?.() })
  const ended = new Promise<void>((resolve) => stream.addEventListener('remoteCloseWrite', () => resolve(), { once: true }))
  let done = false
  void ended.then(() => { done = true; gotOne?.() })
  stream.pause()
  while (!done) {
    const one = new Promise<void>((resolve) => { gotOne = resolve })
    stream.resume()
    await one
    stream.pause()
    await sleep(2)
  }
  stream.resume()
  return received
}

/** Records the most bytes the stream ever held in its write buffer. */
function watched (stream: Stream): { stream: WritableStream, maxQueued: () => number, waits: () => number } {
  let maxQueued = 0
  let waits = 0
  const note = (): void => { maxQueued = Math.max(maxQueued, stream.writeBufferLength) }
  stream.addEventListener('drain', note)
  const view: WritableStream = {
    send: (bytes) => {
      const sent = stream.send(bytes)
      note()
      if (!sent) waits++
      return sent
    },
    get writableNeedsDrain () { return stream.writableNeedsDrain },
    get status () { return stream.status },
    addEventListener: stream.addEventListener.bind(stream),
    removeEventListener: stream.removeEventListener.bind(stream)
  }
  return { stream: view, maxQueued: () => maxQueued, waits: () => waits }
}

describe('sendWithBackPressure over libp2p', () => {
  let sender: Libp2p
  let receiver: Libp2p
  const received: Array<Promise<number>> = []

  before(async () => {
    sender = await startClientHost()
    receiver = await startClientHost()
    await receiver.handle(SLOW_SINK, (stream) => { received.push(drip(stream)) })
    await sender.peerStore.merge(receiver.peerId, { multiaddrs: receiver.getMultiaddrs() })
  })

  after(async () => {
    await sender.stop()
    await receiver.stop()
  })

  it('a slow reader bounds what the sender queues to about one send', async () => {
    const stream = await sender.dialProtocol(receiver.peerId, SLOW_SINK)
    const { stream: view, maxQueued, waits } = watched(stream)
    const block = new Uint8Array(MIB)
    for (let i = 0; i < SENT_MIB; i++) await sendWithBackPressure(view, block)
    await stream.close()
    assert.equal(await received.at(-1), SENT_MIB * MIB, 'the reader got every byte')
    assert.ok(waits() > 0, `the reader was slow enough to push back (${waits()} waits)`)
    assert.ok(maxQueued() <= 2 * MIB, `the sender queued at most 2 MiB of the ${SENT_MIB} MiB sent, saw ${maxQueued()} bytes`)
  })

  it('control: looping on stream.onDrain() (the @libp2p/utils 7.4.1 defect) queues far more', async () => {
    // When this fails, upstream fixed onDrain(): sendWithBackPressure can then defer to it.
    const stream = await sender.dialProtocol(receiver.peerId, SLOW_SINK)
    const { stream: view, maxQueued } = watched(stream)
    const block = new Uint8Array(MIB)
    for (let i = 0; i < SENT_MIB; i++) if (!view.send(block)) await stream.onDrain()
    await stream.close()
    assert.equal(await received.at(-1), SENT_MIB * MIB)
    assert.ok(maxQueued() > 8 * MIB, `onDrain() held back the sender (max queued ${maxQueued()} bytes)`)
  })

  it('a stream aborted while its sender waits rejects the wait and leaves no drain listener', async () => {
    const stream = await sender.dialProtocol(receiver.peerId, SLOW_SINK)
    const drainListeners = stream.listenerCount('drain')
    let waiting: Promise<void> | undefined
    for (let i = 0; i < 64 && waiting === undefined; i++) {
      if (!stream.send(new Uint8Array(MIB))) waiting = waitUntilWritable(stream)
    }
    assert.ok(waiting !== undefined, 'the slow reader filled the window')
    assert.equal(stream.listenerCount('drain'), drainListeners + 1)
    stream.abort(new Error('gone'))
    await assert.rejects(waiting, { name: 'ProtocolError' })
    assert.equal(stream.listenerCount('drain'), drainListeners)
  })
})

/** A stream whose writability the test controls (a plain EventTarget, as libp2p's are). */
class ScriptedStream extends EventTarget {
  writableNeedsDrain = false
  status: Stream['status'] = 'open'
  accepted = 0
  listeners = 0
  send (bytes: Uint8Array): boolean {
    this.accepted += bytes.byteLength
    return !this.writableNeedsDrain
  }

  override addEventListener (...args: Parameters<EventTarget['addEventListener']>): void {
    this.listeners++
    super.addEventListener(...args)
  }

  override removeEventListener (...args: Parameters<EventTarget['removeEventListener']>): void {
    this.listeners--
    super.removeEventListener(...args)
  }
}

// libp2p types its listeners per event; at run time a stream is an EventTarget like this one
const writable = (stream: ScriptedStream): WritableStream => stream as unknown as WritableStream

describe('waitUntilWritable', () => {
  it('returns at once while the stream can take more', async () => {
    const stream = new ScriptedStream()
    await sendWithBackPressure(writable(stream), new Uint8Array(10))
    assert.equal(stream.accepted, 10)
    assert.equal(stream.listeners, 0)
  })

  it('a drain that leaves the transport full does not release the sender; the next one does', async () => {
    const stream = new ScriptedStream()
    stream.writableNeedsDrain = true
    let released = false
    const sending = sendWithBackPressure(writable(stream), new Uint8Array(10)).then(() => { released = true })
    stream.dispatchEvent(new Event('drain')) // the flush after it filled the window again
    await sleep(5)
    assert.equal(released, false)
    stream.writableNeedsDrain = false
    stream.dispatchEvent(new Event('drain'))
    await sending
    assert.equal(stream.listeners, 0)
  })

  it('an abort while waiting rejects with AbortError and removes its listeners', async () => {
    const stream = new ScriptedStream()
    stream.writableNeedsDrain = true
    const controller = new AbortController()
    const sending = sendWithBackPressure(writable(stream), new Uint8Array(10), controller.signal)
    controller.abort(new Error('shutdown'))
    await assert.rejects(sending, { name: 'AbortError' })
    assert.equal(stream.listeners, 0)
  })

  it('a peer that reads nothing within the drain deadline gets WriteStalledError, and no listener is left', async () => {
    const stream = new ScriptedStream()
    stream.writableNeedsDrain = true
    const sending = sendWithBackPressure(writable(stream), new Uint8Array(10), undefined, 50)
    await assert.rejects(sending, (err: unknown) => err instanceof WriteStalledError && err instanceof PeerTimeoutError)
    assert.equal(stream.listeners, 0)
  })

  it('a drain within the deadline sends as before', async () => {
    const stream = new ScriptedStream()
    stream.writableNeedsDrain = true
    const sending = sendWithBackPressure(writable(stream), new Uint8Array(10), undefined, 60_000)
    stream.writableNeedsDrain = false
    stream.dispatchEvent(new Event('drain'))
    await sending
    assert.equal(stream.listeners, 0)
  })

  it('an already aborted signal or a closed stream fails without waiting', async () => {
    const stream = new ScriptedStream()
    stream.writableNeedsDrain = true
    await assert.rejects(waitUntilWritable(writable(stream), AbortSignal.abort()), { name: 'AbortError' })
    stream.status = 'reset'
    await assert.rejects(waitUntilWritable(writable(stream)), { name: 'ProtocolError' })
    assert.equal(stream.listeners, 0)
  })

  it('a close while waiting rejects with ProtocolError carrying the cause', async () => {
    const stream = new ScriptedStream()
    stream.writableNeedsDrain = true
    const sending = waitUntilWritable(writable(stream))
    stream.dispatchEvent(Object.assign(new Event('close'), { error: new Error('reset by peer') }))
    await assert.rejects(sending, (err: Error) => err.name === 'ProtocolError' && (err.cause as Error).message === 'reset by peer')
    assert.equal(stream.listeners, 0)
  })
})
