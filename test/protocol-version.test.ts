import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Libp2p, Stream } from '@libp2p/interface'
import protobuf from 'protobufjs'
import { Uint8ArrayList } from 'uint8arraylist'
import { loadProofArtefacts } from '../src/adapters/proof/artefacts.ts'
import { SnarkjsVerifier } from '../src/adapters/proof/snarkjs-verifier.ts'
import { DELETE_PROTOCOL, RETRIEVE_PROTOCOL, STORE_PROTOCOL, V1_PROTOCOLS } from '../src/adapters/libp2p/wire/constants.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { introduce, startClientHost, startStorageNode, type TestStorageNode } from './helpers/storage-node.ts'
import { tempDir } from './helpers/temp-dir.ts'

// The v1 schema's response messages as a v1 peer has them (protocol-spec/quloud.proto
// of version 1, the parts that matter): written out here so that the test decodes the
// node's frame as an old peer would, not with the node's own v2 schema.
const v1 = protobuf.parse(`
syntax = "proto3";
package quloud.wire.v1;
message Error { int32 code = 1; string message = 2; string chunk_id = 3; }
message Receipt { int32 kind = 1; bytes node = 2; string chunk_id = 3; string commitment = 4; uint64 time_ms = 5; bool bytes_removed = 6; bytes signature = 7; }
message StoreRequest { string chunk_id = 1; string commitment = 2; bytes data = 3; }
message StoreResponse { oneof result { Receipt receipt = 1; Error error = 2; } }
message Hello { string commitment = 1; }
message SessionRequest { oneof body { Hello hello = 1; } }
message SessionResponse { oneof body { Error error = 5; } }
`).root
const UNSUPPORTED_VERSION = 11

function frame (bytes: Uint8Array): Uint8Array {
  const length: number[] = []
  let n = bytes.byteLength
  while (n >= 0x80) { length.push((n & 0x7f) | 0x80); n >>>= 7 }
  length.push(n)
  return Uint8Array.from([...length, ...bytes])
}

/**
 * The node's first frame, then waits for the stream to end: the node closes its side
 * and, the peer not reading on, resets the stream after its grace period.
 */
async function oneFrameThenEnd (stream: Stream): Promise<Uint8Array> {
  const ended = new Promise<void>((resolve) => {
    if (stream.status === 'closed' || stream.status === 'aborted' || stream.status === 'reset') resolve()
    else stream.addEventListener('close', () => resolve(), { once: true })
  })
  const all = new Uint8ArrayList()
  let frame: Uint8Array | undefined
  const reading = (async () => {
    for await (const chunk of stream) {
      all.append(chunk)
      const bytes = all.subarray()
      let length = 0
      let i = 0
      for (let shift = 0; i < bytes.byteLength; shift += 7, i++) {
        length += (bytes[i]! & 0x7f) * 2 ** shift
        if ((bytes[i]! & 0x80) === 0) break
      }
      if (i < bytes.byteLength && bytes.byteLength >= i + 1 + length) {
        frame = bytes.subarray(i + 1, i + 1 + length)
        assert.equal(bytes.byteLength, i + 1 + length, 'one frame and nothing after it')
      }
    }
  })().catch(() => {}) // a reset after the frame is the node ending the stream
  await Promise.race([ended, sleep(8000).then(() => { throw new Error('the node did not end the stream') })])
  await reading
  assert.ok(frame !== undefined, 'the node sent a whole frame before it ended the stream')
  return frame
}

describe('a v2 node refuses v1 requests with UNSUPPORTED_VERSION', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  let verifier: SnarkjsVerifier
  let node: TestStorageNode
  let oldPeer: Libp2p

  before(async () => {
    dir = await tempDir()
    verifier = await SnarkjsVerifier.create({ verificationKey: (await loadProofArtefacts()).verificationKey })
    node = await startStorageNode({ dir: dir.path, verifier })
    oldPeer = await startClientHost()
    await introduce(oldPeer, node)
  })

  after(async () => {
    await oldPeer.stop()
    await node.stop()
    await verifier.close()
    await dir.cleanup()
  })

  it('a v1 store request gets one StoreResponse.error frame naming the v2 id, nothing is stored, the stream ends', async () => {
    const data = randomBytes(2048)
    const chunkId = chunkIdOf(data)
    const stream = await oldPeer.dialProtocol(node.host.peerId, V1_PROTOCOLS.store)
    const request = v1.lookupType('quloud.wire.v1.StoreRequest')
    stream.send(frame(request.encode({ chunkId, commitment: '12345', data }).finish()))
    const response = v1.lookupType('quloud.wire.v1.StoreResponse').toObject(
      v1.lookupType('quloud.wire.v1.StoreResponse').decode(await oneFrameThenEnd(stream)), { oneofs: true }) as any
    assert.equal(response.result, 'error')
    assert.equal(response.error.code, UNSUPPORTED_VERSION)
    assert.match(response.error.message, /protocol v2/)
    assert.ok(response.error.message.includes(STORE_PROTOCOL), response.error.message)
    assert.match(response.error.message, /upgrade/)
    assert.equal(await node.chunkStore.has(chunkId), false)
  })

  for (const [name, current] of [['retrieve', RETRIEVE_PROTOCOL], ['delete', DELETE_PROTOCOL]] as const) {
    it(`a v1 ${name} hello gets one SessionResponse.error frame and no challenge`, async () => {
      const stream = await oldPeer.dialProtocol(node.host.peerId, V1_PROTOCOLS[name])
      stream.send(frame(v1.lookupType('quloud.wire.v1.SessionRequest').encode({ hello: { commitment: '12345' } }).finish()))
      const type = v1.lookupType('quloud.wire.v1.SessionResponse')
      const response = type.toObject(type.decode(await oneFrameThenEnd(stream)), { oneofs: true }) as any
      assert.equal(response.body, 'error')
      assert.equal(response.error.code, UNSUPPORTED_VERSION)
      assert.ok(response.error.message.includes(current), response.error.message)
    })
  }

  it('answers without reading: a peer that sends nothing still gets the refusal', async () => {
    const stream = await oldPeer.dialProtocol(node.host.peerId, V1_PROTOCOLS.retrieve)
    const type = v1.lookupType('quloud.wire.v1.SessionResponse')
    const response = type.toObject(type.decode(await oneFrameThenEnd(stream)), { oneofs: true }) as any
    assert.equal(response.error.code, UNSUPPORTED_VERSION)
  })

  it('the v2 ids are served beside them', async () => {
    const protocols = await node.host.getProtocols()
    for (const id of [STORE_PROTOCOL, RETRIEVE_PROTOCOL, DELETE_PROTOCOL, ...Object.values(V1_PROTOCOLS)]) assert.ok(protocols.includes(id), id)
  })
})
