import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Libp2p, Stream } from '@libp2p/interface'
import { SessionClient } from '../src/adapters/libp2p/protocols/session-client.ts'
import { StoreClient } from '../src/adapters/libp2p/protocols/store-client.ts'
import { DELETE_PROTOCOL, MAX_CHUNK_BYTES, MAX_CONTROL_FRAME_BYTES, MAX_DATA_FRAME_BYTES, RETRIEVE_PROTOCOL, STORE_PROTOCOL, STREAM_WINDOW_BYTES } from '../src/adapters/libp2p/wire/constants.ts'
import { encodeFrame, FramedStream, type EncodedFrame } from '../src/adapters/libp2p/wire/framed-stream.ts'
import { SessionRequestCodec, SessionResponseCodec, StoreResponseCodec } from '../src/adapters/libp2p/wire/messages.ts'
import { sendWithBackPressure } from '../src/adapters/libp2p/wire/send-with-back-pressure.ts'
import { Uint8ArrayList } from 'uint8arraylist'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { poseidonCommitment } from '../src/domain/proofs/poseidon-commitment.ts'
import { decodeGroth16Proof } from '../src/domain/proofs/groth16-proof.ts'
import type { Prover } from '../src/ports/prover.ts'
import { startClientHost } from './helpers/storage-node.ts'

const prover: Prover = { prove: async () => decodeGroth16Proof(new Uint8Array(256)), close: async () => {} } as unknown as Prover

/**
 * Bytes a hostile node may get past a client that reads nothing: the two answers its
 * reader holds before pausing, the window it granted, and what sits in the node's own
 * send queue (one frame) and between frames of the muxer.
 */
function floodBound (maxFrameBytes: number): number {
  return 2 * (maxFrameBytes + 5) + STREAM_WINDOW_BYTES + 2 * MAX_DATA_FRAME_BYTES
}

/** Sends `frame` again and again as fast as the client's window lets it; `pushed` counts what left. */
function flood (stream: Stream, frame: EncodedFrame): { pushed: () => number, stop: () => void } {
  let pushed = 0
  let stopped = false
  void (async () => {
    while (!stopped && stream.status === 'open') {
      await sendWithBackPressure(stream, new Uint8ArrayList(...frame.parts))
      pushed += frame.byteLength
    }
  })().catch(() => {})
  return { pushed: () => pushed, stop: () => { stopped = true } }
}

/**
 * Waits until the flood has made no progress for 2 s (the client's window is full) after
 * pushing at least `least` bytes, or 30 s at most: a count, not a rate, so load only slows it.
 */
async function untilStalled (pushed: () => number, least: number): Promise<number> {
  let last = -1
  let still = 0
  for (let i = 0; i < 120; i++) {
    await sleep(250)
    const now = pushed()
    still = now === last ? still + 1 : 0
    last = now
    if (still >= 8 && now >= least) return now
  }
  return pushed()
}

describe('clients against a node that answers with maximum-size frames as fast as it can', () => {
  let owner: Libp2p
  let node: Libp2p
  const floods: Array<{ stop: () => void }> = []

  before(async () => {
    owner = await startClientHost()
    node = await startClientHost()
    await owner.peerStore.merge(node.peerId, { multiaddrs: node.getMultiaddrs() })
  })

  after(async () => {
    for (const f of floods) f.stop()
    await owner.stop()
    await node.stop()
  })

  it('a session that reads nothing holds at most two answers and its window; the next get fails on the answer it did not ask for', { timeout: 60_000 }, async () => {
    await node.unhandle(RETRIEVE_PROTOCOL).catch(() => {})
    const chunk = new Uint8Array(MAX_CHUNK_BYTES).fill(9)
    const junk = encodeFrame(SessionResponseCodec, { chunk: { chunkId: chunkIdOf(chunk), data: chunk } })
    let flooding: ReturnType<typeof flood> | undefined
    await node.handle(RETRIEVE_PROTOCOL, async (stream: Stream) => {
      const framed = new FramedStream(stream, { maxFrameBytes: MAX_DATA_FRAME_BYTES, idleTimeoutMs: 30_000 })
      try {
        await framed.read(SessionRequestCodec)
        await framed.write(SessionResponseCodec, { challenge: { nonce: new Uint8Array(32).fill(7), expiresAtMs: Date.now() + 60_000 } })
        await framed.read(SessionRequestCodec)
        await framed.write(SessionResponseCodec, { ready: { expiresAtMs: Date.now() + 60_000 } })
        flooding = flood(stream, junk)
        floods.push(flooding)
      } catch { /* the client gave up */ }
    })
    const session = await SessionClient.open({ host: owner, peer: node.peerId, action: 'read', secret: 7n, commitment: poseidonCommitment(7n), prover, idleTimeoutMs: 30_000 })
    try {
      while (flooding === undefined) await sleep(10)
      const pushed = await untilStalled(flooding.pushed, 2 * MAX_CHUNK_BYTES)
      assert.ok(pushed >= 2 * MAX_CHUNK_BYTES, `the node did flood (${pushed} B)`)
      assert.ok(pushed <= floodBound(MAX_DATA_FRAME_BYTES), `the node got ${pushed} B past a client that read nothing (bound ${floodBound(MAX_DATA_FRAME_BYTES)})`)
      assert.ok(session.heldBytes <= pushed + junk.byteLength, 'the client holds only what was sent (the frame being sent included)')
      assert.ok(session.heldBytes <= 2 * (MAX_DATA_FRAME_BYTES + 5) + 2 * STREAM_WINDOW_BYTES, `the client holds ${session.heldBytes} B`)
      // the first unasked answer is taken for the get's and its id does not match
      await assert.rejects(session.get(chunkIdOf(new Uint8Array([1]))), { name: 'ProtocolError' })
    } finally {
      flooding?.stop()
      await session.close().catch(() => {})
    }
  })

  it('an answer larger than the request allows is refused: a chunk-sized challenge, a chunk-sized delete receipt', { timeout: 30_000 }, async () => {
    await node.unhandle(RETRIEVE_PROTOCOL).catch(() => {})
    await node.handle(RETRIEVE_PROTOCOL, async (stream: Stream) => {
      const framed = new FramedStream(stream, { maxFrameBytes: MAX_DATA_FRAME_BYTES, idleTimeoutMs: 5000 })
      try {
        await framed.read(SessionRequestCodec)
        await framed.write(SessionResponseCodec, { challenge: { nonce: new Uint8Array(MAX_CONTROL_FRAME_BYTES * 4), expiresAtMs: Date.now() + 60_000 } })
        await framed.read(SessionRequestCodec)
      } catch { /* the client gave up */ }
    })
    await assert.rejects(SessionClient.open({ host: owner, peer: node.peerId, action: 'read', secret: 7n, commitment: poseidonCommitment(7n), prover, idleTimeoutMs: 5000 }), { name: 'TooLargeError' })

    await node.handle(DELETE_PROTOCOL, async (stream: Stream) => {
      const framed = new FramedStream(stream, { maxFrameBytes: MAX_DATA_FRAME_BYTES, idleTimeoutMs: 5000 })
      try {
        await framed.read(SessionRequestCodec)
        await framed.write(SessionResponseCodec, { challenge: { nonce: new Uint8Array(32).fill(7), expiresAtMs: Date.now() + 60_000 } })
        await framed.read(SessionRequestCodec)
        await framed.write(SessionResponseCodec, { ready: { expiresAtMs: Date.now() + 60_000 } })
        await framed.read(SessionRequestCodec)
        await framed.write(SessionResponseCodec, { chunk: { chunkId: 'x', data: new Uint8Array(64 * 1024) } })
        await framed.read(SessionRequestCodec)
      } catch { /* the client gave up */ }
    })
    const session = await SessionClient.open({ host: owner, peer: node.peerId, action: 'delete', secret: 7n, commitment: poseidonCommitment(7n), prover, idleTimeoutMs: 5000 })
    try {
      await assert.rejects(session.delete('x'), { name: 'TooLargeError' })
    } finally {
      await session.close().catch(() => {})
      await node.unhandle(DELETE_PROTOCOL)
    }
  })

  it('a store stream flooded with answers nobody asked for holds at most two of them and its window', { timeout: 60_000 }, async () => {
    const answer = encodeFrame(StoreResponseCodec, { error: { code: 1, message: 'x'.repeat(MAX_CONTROL_FRAME_BYTES - 64), chunkId: '' } })
    let flooding: ReturnType<typeof flood> | undefined
    await node.handle(STORE_PROTOCOL, async (stream: Stream) => {
      flooding = flood(stream, answer)
      floods.push(flooding)
    })
    const store = await StoreClient.open(owner, node.peerId)
    try {
      while (flooding === undefined) await sleep(10)
      const pushed = await untilStalled(flooding.pushed, STREAM_WINDOW_BYTES / 2)
      assert.ok(pushed >= STREAM_WINDOW_BYTES / 2, `the node did flood (${pushed} B)`)
      assert.ok(pushed <= floodBound(MAX_CONTROL_FRAME_BYTES), `the node got ${pushed} B past a store client that read nothing`)
    } finally {
      flooding?.stop()
      await store.close().catch(() => {})
      await node.unhandle(STORE_PROTOCOL)
    }
  })
})
