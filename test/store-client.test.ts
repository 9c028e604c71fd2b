import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { Libp2p } from '@libp2p/interface'
import { Uint8ArrayList } from 'uint8arraylist'
import { loadProofArtefacts } from '../src/adapters/proof/artefacts.ts'
import { SnarkjsVerifier } from '../src/adapters/proof/snarkjs-verifier.ts'
import { encodeStoreRequest, StoreClient } from '../src/adapters/libp2p/protocols/store-client.ts'
import { encodeFrame } from '../src/adapters/libp2p/wire/framed-stream.ts'
import { StoreRequestCodec } from '../src/adapters/libp2p/wire/messages.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { commitmentToDecimal, poseidonCommitment } from '../src/domain/proofs/poseidon-commitment.ts'
import { introduce, startClientHost, startStorageNode, type TestStorageNode } from './helpers/storage-node.ts'
import { tempDir } from './helpers/temp-dir.ts'

const commitment = commitmentToDecimal(poseidonCommitment(4242n))
const deleteCommitment = commitmentToDecimal(poseidonCommitment(4343n))
const bytesOf = (parts: readonly Uint8Array[]): Uint8Array => new Uint8ArrayList(...parts).subarray()

describe('encodeStoreRequest', () => {
  it('frames exactly the bytes the codec does, for lengths around every varint boundary', () => {
    for (const size of [0, 1, 127, 128, 16_383, 16_384, 1024 * 1024 + 1024]) {
      const data = randomBytes(size)
      const request = { chunkId: chunkIdOf(data), commitment, deleteCommitment, data }
      const encoded = encodeStoreRequest(request)
      assert.deepEqual(bytesOf(encoded.frame.parts), bytesOf(encodeFrame(StoreRequestCodec, request).parts), `${size} bytes`)
      assert.equal(encoded.frame.byteLength, bytesOf(encoded.frame.parts).byteLength)
    }
  })

  it('does not copy the chunk: the frame holds the caller\'s buffer', () => {
    const data = randomBytes(4096)
    const { frame } = encodeStoreRequest({ chunkId: chunkIdOf(data), commitment, deleteCommitment, data })
    // v2: the delete commitment (field 4) follows the data, so the buffer is the last part but one
    assert.equal(frame.parts.at(-2), data)
  })
})

describe('one framed chunk stored on several nodes', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  let verifier: SnarkjsVerifier
  const nodes: TestStorageNode[] = []
  let owner: Libp2p

  before(async () => {
    dir = await tempDir()
    verifier = await SnarkjsVerifier.create({ verificationKey: (await loadProofArtefacts()).verificationKey })
    for (let i = 0; i < 3; i++) nodes.push(await startStorageNode({ dir: join(dir.path, `n${i}`), verifier }))
    owner = await startClientHost()
    for (const node of nodes) await introduce(owner, node)
  })

  after(async () => {
    await owner.stop()
    for (const node of nodes) await node.stop()
    await verifier.close()
    await dir.cleanup()
  })

  it('every node stores the same frame and signs its own receipt; the frame can be sent again', async () => {
    const data = randomBytes(256 * 1024)
    const chunkId = chunkIdOf(data)
    const encoded = encodeStoreRequest({ chunkId, commitment, deleteCommitment, data })
    const clients = await Promise.all(nodes.map(async (node) => StoreClient.open(owner, node.host.peerId)))
    const receipts = await Promise.all(clients.map(async (client) => client.store(encoded)))
    assert.deepEqual(new Set(receipts.map((r) => Buffer.from(r.node).toString('hex'))).size, nodes.length)
    for (const node of nodes) assert.deepEqual(await node.chunkStore.get(chunkId), data)
    assert.equal((await clients[0]!.store(encoded)).chunkId, chunkId)
    await Promise.all(clients.map(async (client) => client.close()))
  })

  it('a frame whose data does not match its id is refused by every node, framed once or not', async () => {
    const data = randomBytes(4096)
    const forged = { chunkId: chunkIdOf(randomBytes(4096)), commitment, deleteCommitment, data }
    for (const node of nodes) {
      const client = await StoreClient.open(owner, node.host.peerId)
      await assert.rejects(client.store(encodeStoreRequest(forged)), { name: 'ChunkIdMismatchError' })
      await assert.rejects(client.store(forged), { name: 'ChunkIdMismatchError' })
      assert.equal(await node.chunkStore.has(forged.chunkId), false)
      await client.close()
    }
  })
})
