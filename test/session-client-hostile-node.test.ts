import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { Libp2p, Stream } from '@libp2p/interface'
import { SessionClient } from '../src/adapters/libp2p/protocols/session-client.ts'
import { MAX_DATA_FRAME_BYTES, RETRIEVE_PROTOCOL } from '../src/adapters/libp2p/wire/constants.ts'
import { FramedStream } from '../src/adapters/libp2p/wire/framed-stream.ts'
import { SessionRequestCodec, SessionResponseCodec, type SessionRequest, type SessionResponse } from '../src/adapters/libp2p/wire/messages.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { poseidonCommitment } from '../src/domain/proofs/poseidon-commitment.ts'
import { decodeGroth16Proof } from '../src/domain/proofs/groth16-proof.ts'
import type { Prover } from '../src/ports/prover.ts'
import { startClientHost } from './helpers/storage-node.ts'

/**
 * A storage node that takes any proof (or, with `challenge: false`, none) and answers
 * requests as `answer` says.
 */
async function lyingNode (host: Libp2p, answer: (request: SessionRequest) => SessionResponse, { challenge = true } = {}): Promise<void> {
  await host.handle(RETRIEVE_PROTOCOL, async (stream: Stream) => {
    const framed = new FramedStream(stream, { maxFrameBytes: MAX_DATA_FRAME_BYTES, idleTimeoutMs: 5000 })
    try {
      await framed.read(SessionRequestCodec) // hello
      if (challenge) {
        await framed.write(SessionResponseCodec, { challenge: { nonce: new Uint8Array(32).fill(7), expiresAtMs: Date.now() + 60_000 } })
        await framed.read(SessionRequestCodec) // whatever proof
      }
      await framed.write(SessionResponseCodec, { ready: { expiresAtMs: Date.now() + 60_000 } })
      for (let request = await framed.read(SessionRequestCodec); request !== undefined; request = await framed.read(SessionRequestCodec)) {
        await framed.write(SessionResponseCodec, answer(request))
      }
    } catch { /* the client gave up */ }
  })
}

// a proof of the right shape; the lying node checks nothing
const prover: Prover = { prove: async () => decodeGroth16Proof(new Uint8Array(256)), close: async () => {} } as unknown as Prover

describe('the owner\'s session client against a lying storage node', () => {
  let owner: Libp2p
  let node: Libp2p

  before(async () => {
    owner = await startClientHost()
    node = await startClientHost()
    await owner.peerStore.merge(node.peerId, { multiaddrs: node.getMultiaddrs() })
  })

  after(async () => {
    await owner.stop()
    await node.stop()
  })

  async function open (): Promise<SessionClient> {
    return SessionClient.open({ host: owner, peer: node.peerId, action: 'read', secret: 7n, commitment: poseidonCommitment(7n), prover, idleTimeoutMs: 5000 })
  }

  it('refuses a session the node opens without ever challenging this connection (a ready without a challenge)', async () => {
    await node.unhandle(RETRIEVE_PROTOCOL)
    await lyingNode(node, () => ({ error: { code: 1, message: 'x', chunkId: '' } }), { challenge: false })
    await assert.rejects(open(), { name: 'ProtocolError', message: /never challenged/ })
  })

  it('accepts a ready without a challenge where this connection proved for that commitment (session reuse)', async () => {
    await node.unhandle(RETRIEVE_PROTOCOL)
    let sessions = 0
    await node.handle(RETRIEVE_PROTOCOL, async (stream: Stream) => {
      const framed = new FramedStream(stream, { maxFrameBytes: MAX_DATA_FRAME_BYTES, idleTimeoutMs: 5000 })
      try {
        await framed.read(SessionRequestCodec)
        if (sessions++ === 0) {
          await framed.write(SessionResponseCodec, { challenge: { nonce: new Uint8Array(32).fill(7), expiresAtMs: Date.now() + 60_000 } })
          await framed.read(SessionRequestCodec)
        }
        await framed.write(SessionResponseCodec, { ready: { expiresAtMs: Date.now() + 60_000 } })
        await framed.read(SessionRequestCodec)
      } catch { /* the client gave up */ }
    })
    const first = await open()
    const second = await open()
    await first.close()
    await second.close()
    assert.equal(sessions, 2)
  })

  it('refuses a chunk whose bytes are not those of the id asked for', async () => {
    const wanted = chunkIdOf(new Uint8Array([1, 2, 3]))
    await node.unhandle(RETRIEVE_PROTOCOL)
    await lyingNode(node, (request) => ({ chunk: { chunkId: 'get' in request ? request.get.chunkId : '', data: new Uint8Array([6, 6, 6]) } }))
    const session = await open()
    try {
      await assert.rejects(session.get(wanted), { name: 'ChunkIdMismatchError' })
    } finally {
      await session.close()
    }
  })

  it('a listing that never ends is given up, not gathered until memory runs out', async () => {
    let pages = 0
    await node.unhandle(RETRIEVE_PROTOCOL)
    await lyingNode(node, () => {
      pages++
      // digits as letters: listed ids must be chunk ids (base32), or the first page is refused
      const ids = Array.from({ length: 1000 }, (_, i) => `bafk${String(pages).padStart(9, '0')}${String(i).padStart(4, '0')}`.replace(/\d/gu, (d) => 'abcdefghij'[Number(d)]!))
      return { chunkList: { chunkIds: ids, more: true } }
    })
    const session = await open()
    try {
      const outcome = await Promise.race([
        session.list().then(() => 'listed', (err: Error) => err.name),
        new Promise((resolve) => setTimeout(resolve, 20_000, 'still listing'))
      ])
      assert.equal(outcome, 'ProtocolError')
      assert.ok(pages <= 101, `${pages} pages were read`)
    } finally {
      await session.close()
    }
  })

  it('a listing of ids no store accepts is refused at its first page: 1,000 ids of 1,000 characters a page, under the frame limit, would hold 100 MB by the count limit', async () => {
    let pages = 0
    await node.unhandle(RETRIEVE_PROTOCOL)
    await lyingNode(node, () => {
      pages++
      const ids = Array.from({ length: 1000 }, (_, i) => `${'a'.repeat(990)}${String(pages * 1000 + i).padStart(10, '0')}`)
      return { chunkList: { chunkIds: ids, more: true } }
    })
    const session = await open()
    try {
      await assert.rejects(session.list(), { name: 'ProtocolError' })
      assert.ok(pages <= 2, `${pages} pages of 1 MB were read`)
    } finally {
      await session.close()
    }
  })
})
