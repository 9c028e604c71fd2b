import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Libp2p, Stream } from '@libp2p/interface'
import { loadProofArtefacts } from '../src/adapters/proof/artefacts.ts'
import { SnarkjsVerifier } from '../src/adapters/proof/snarkjs-verifier.ts'
import { StoreClient } from '../src/adapters/libp2p/protocols/store-client.ts'
import { RETRIEVE_PROTOCOL, STORE_PROTOCOL } from '../src/adapters/libp2p/wire/constants.ts'
import { FramedStream } from '../src/adapters/libp2p/wire/framed-stream.ts'
import { SessionRequestCodec, SessionResponseCodec, StoreRequestCodec, StoreResponseCodec } from '../src/adapters/libp2p/wire/messages.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { commitmentToDecimal, poseidonCommitment } from '../src/domain/proofs/poseidon-commitment.ts'
import { introduce, NO_PROOF_COOLDOWN, startClientHost, startStorageNode, type TestStorageNode } from './helpers/storage-node.ts'
import { tempDir } from './helpers/temp-dir.ts'

const commitment = commitmentToDecimal(poseidonCommitment(12345n))

/** Everything the node sends on `stream` until it closes or resets it. */
async function drain (stream: Stream): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  try {
    for await (const part of stream) parts.push(part.subarray())
  } catch { /* reset by the node: what came before still counts */ }
  return Buffer.concat(parts)
}

function storeResponseError (bytes: Uint8Array): number | undefined {
  if (bytes.byteLength === 0) return undefined
  let length = 0
  let shift = 0
  let i = 0
  for (; i < 5; i++) {
    length += (bytes[i]! & 0x7f) * 2 ** shift
    shift += 7
    if ((bytes[i]! & 0x80) === 0) break
  }
  const response = StoreResponseCodec.decode(bytes.subarray(i + 1, i + 1 + length))
  return response.error?.code
}

const NODE_IDLE_MS = 3000

describe('a hostile peer cannot hurt a storage node', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  let verifier: SnarkjsVerifier
  let node: TestStorageNode
  let attacker: Libp2p
  let honest: Libp2p

  before(async () => {
    dir = await tempDir()
    verifier = await SnarkjsVerifier.create({ verificationKey: (await loadProofArtefacts()).verificationKey })
    // the attacker and the honest peer share 127.0.0.1, one network to the strangers'
    // stream rate: the attacker's 1,000 streams and stalled frames (charged a burst each)
    // would have every later stream of both reset at the muxer. The rate has tests of its
    // own (stream-gate, stream-rate, stream-churn); here it is out of the way, so each
    // refusal of the protocols themselves is what is pinned.
    // idle 3 s: short enough for the two tests that wait for it, long enough that a
    // stalled test process (node and attacker are one) does not drop a stream mid-exchange
    node = await startStorageNode({
      dir: dir.path, verifier, idleTimeoutMs: NODE_IDLE_MS, proofAdmission: NO_PROOF_COOLDOWN, budgets: { strangerStreamsPerSecond: 1_000_000, strangerStreamBurst: 1_000_000 }
    })
    attacker = await startClientHost()
    honest = await startClientHost()
    await introduce(attacker, node)
    await introduce(honest, node)
  })

  after(async () => {
    await node.stop()
    await attacker.stop()
    await honest.stop()
    await verifier.close()
    await dir.cleanup()
  })

  /** The node still stores and counts correctly for a well-behaved peer. */
  async function stillServes (): Promise<void> {
    const data = randomBytes(2048)
    const client = await StoreClient.open(honest, node.host.peerId)
    const receipt = await client.store({ chunkId: chunkIdOf(data), data, commitment, deleteCommitment: commitment })
    assert.equal(receipt.chunkId, chunkIdOf(data))
    await client.close()
    assert.ok(Buffer.from(await node.chunkStore.get(chunkIdOf(data))).equals(data))
  }

  it('garbage bytes: MALFORMED, stream dropped', async () => {
    const stream = await attacker.dialProtocol(node.host.peerId, STORE_PROTOCOL)
    stream.send(Uint8Array.from([0x05, 0xff, 0xff, 0xff, 0xff, 0xff]))
    await stream.close()
    assert.equal(storeResponseError(await drain(stream)), 6)
    await stillServes()
  })

  it('an oversized length prefix: TOO_LARGE before any body is buffered', async () => {
    const stream = await attacker.dialProtocol(node.host.peerId, STORE_PROTOCOL)
    stream.send(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f])) // ~4 GiB
    assert.equal(storeResponseError(await drain(stream)), 7)
    await stillServes()
  })

  it('a varint that never ends: MALFORMED', async () => {
    const stream = await attacker.dialProtocol(node.host.peerId, STORE_PROTOCOL)
    stream.send(new Uint8Array(16).fill(0x80))
    assert.equal(storeResponseError(await drain(stream)), 6)
  })

  it('a truncated frame followed by close: dropped, nothing stored', async () => {
    const before = await node.chunkStore.usedBytes()
    const data = randomBytes(5000)
    const frame = StoreRequestCodec.encode({ chunkId: chunkIdOf(data), commitment, deleteCommitment: commitment, data })
    const stream = await attacker.dialProtocol(node.host.peerId, STORE_PROTOCOL)
    stream.send(Uint8Array.from([...[0x80 | (frame.byteLength & 0x7f), frame.byteLength >> 7]]))
    stream.send(frame.subarray(0, 1000))
    await stream.close()
    await drain(stream)
    assert.equal(await node.chunkStore.has(chunkIdOf(data)), false)
    assert.equal(await node.chunkStore.usedBytes(), before)
    await stillServes()
  })

  it('a peer that stalls mid-frame is dropped after the idle timeout', async () => {
    const stream = await attacker.dialProtocol(node.host.peerId, STORE_PROTOCOL)
    stream.send(Uint8Array.from([0x90, 0x4e])) // announces 10,000 bytes, sends none
    const started = Date.now()
    const said = await drain(stream)
    assert.ok(Date.now() - started >= NODE_IDLE_MS - 100, 'not before the idle timeout')
    // protocol-spec/README.md, "Idle and lifetime drops": no Error frame, the node just ends the stream
    assert.equal(said.byteLength, 0, 'the idle close sends no frame')
    await stillServes()
  })

  it('a session stream that goes silent after hello is dropped without a frame beyond the challenge', async () => {
    const framed = new FramedStream(await attacker.dialProtocol(node.host.peerId, RETRIEVE_PROTOCOL), { maxFrameBytes: 4096, idleTimeoutMs: 5000 })
    await framed.write(SessionRequestCodec, { hello: { commitment } })
    const first = await framed.read(SessionResponseCodec)
    assert.ok(first !== undefined && 'challenge' in first)
    assert.equal(await framed.read(SessionResponseCodec).catch(() => undefined), undefined, 'nothing after the challenge: no Error frame on the idle close')
  })

  it('session refusals before a proof: a non-hello first message and an invalid hello commitment are MALFORMED, a short proof INVALID_PROOF', async () => {
    const session = async (first: Parameters<typeof SessionRequestCodec.encode>[0], second?: Parameters<typeof SessionRequestCodec.encode>[0]) => {
      const framed = new FramedStream(await attacker.dialProtocol(node.host.peerId, RETRIEVE_PROTOCOL), { maxFrameBytes: 4096, idleTimeoutMs: 5000 })
      await framed.write(SessionRequestCodec, first)
      if (second !== undefined) {
        assert.ok('challenge' in (await framed.read(SessionResponseCodec))!)
        await framed.write(SessionRequestCodec, second)
      }
      const answer = await framed.read(SessionResponseCodec)
      assert.equal(await framed.read(SessionResponseCodec).catch(() => undefined), undefined, 'the node closed the stream after its error')
      return answer !== undefined && 'error' in answer ? answer.error.code : undefined
    }
    assert.equal(await session({ proof: { proof: new Uint8Array(256) } }), 6)
    assert.equal(await session({ list: { after: '' } }), 6)
    for (const bad of ['', '01', (2n ** 254n).toString(), '-5']) assert.equal(await session({ hello: { commitment: bad } }), 6, bad)
    assert.equal(await session({ hello: { commitment } }, { proof: { proof: new Uint8Array(255) } }), 3)
    assert.equal(await session({ hello: { commitment } }, { hello: { commitment } }), 6)
  })

  it('a chunk whose id does not match: ID_MISMATCH, and the stream goes on', async () => {
    const framed = new FramedStream(await attacker.dialProtocol(node.host.peerId, STORE_PROTOCOL), { maxFrameBytes: 4096, idleTimeoutMs: 5000 })
    const data = randomBytes(3000)
    const liar = chunkIdOf(randomBytes(3000))
    await framed.write(StoreRequestCodec, { chunkId: liar, commitment, deleteCommitment: commitment, data })
    const refused = await framed.read(StoreResponseCodec)
    assert.equal(refused?.error?.code, 10)
    assert.equal(await node.chunkStore.has(liar), false)
    await framed.write(StoreRequestCodec, { chunkId: chunkIdOf(data), commitment, deleteCommitment: commitment, data })
    assert.ok((await framed.read(StoreResponseCodec))?.receipt !== undefined)
    await framed.close()
  })

  it('bad field values: an invalid commitment or chunk id is MALFORMED', async () => {
    const framed = new FramedStream(await attacker.dialProtocol(node.host.peerId, STORE_PROTOCOL), { maxFrameBytes: 4096, idleTimeoutMs: 5000 })
    const data = randomBytes(100)
    for (const request of [
      { chunkId: chunkIdOf(data), commitment: '2'.repeat(80), deleteCommitment: commitment, data },
      { chunkId: chunkIdOf(data), commitment: '-1', deleteCommitment: commitment, data },
      { chunkId: 'bafy-not-a-cid', commitment, deleteCommitment: commitment, data },
      // v2: the delete commitment is required and checked like the read commitment
      { chunkId: chunkIdOf(data), commitment, deleteCommitment: '', data },
      { chunkId: chunkIdOf(data), commitment, deleteCommitment: '2'.repeat(80), data }
    ]) {
      await framed.write(StoreRequestCodec, request)
      assert.equal((await framed.read(StoreResponseCodec))?.error?.code, 6, JSON.stringify(request.commitment))
    }
    await framed.close()
  })

  it('1,000 concurrent streams: refused or served, never a crash, others keep being served', async () => {
    const opened = await Promise.allSettled(Array.from({ length: 1000 }, async (_, i) => {
      const stream = await attacker.dialProtocol(node.host.peerId, i % 2 === 0 ? STORE_PROTOCOL : RETRIEVE_PROTOCOL)
      stream.send(Uint8Array.from([0x01, 0x00]))
      return stream
    }))
    await stillServes()
    const streams = opened.flatMap((r) => r.status === 'fulfilled' ? [r.value] : [])
    assert.ok(streams.length < 1000, 'libp2p and the per-peer limit refused some streams')
    await Promise.allSettled(streams.map(async (s) => { s.abort(new Error('done')) }))
    await sleep(50)
    await stillServes()
  })
})
