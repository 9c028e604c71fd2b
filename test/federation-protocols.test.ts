import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Libp2p, PeerId } from '@libp2p/interface'
import { loadProofArtefacts } from '../src/adapters/proof/artefacts.ts'
import { SnarkjsProver } from '../src/adapters/proof/snarkjs-prover.ts'
import { SnarkjsVerifier } from '../src/adapters/proof/snarkjs-verifier.ts'
import { SessionClient } from '../src/adapters/libp2p/protocols/session-client.ts'
import { StoreClient } from '../src/adapters/libp2p/protocols/store-client.ts'
import { DELETE_PROTOCOL, MAX_DATA_FRAME_BYTES, RETRIEVE_PROTOCOL, STORE_PROTOCOL } from '../src/adapters/libp2p/wire/constants.ts'
import { FramedStream } from '../src/adapters/libp2p/wire/framed-stream.ts'
import { SessionRequestCodec, SessionResponseCodec, StoreRequestCodec, StoreResponseCodec, type SessionResponse } from '../src/adapters/libp2p/wire/messages.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { encodeGroth16Proof } from '../src/domain/proofs/groth16-proof.ts'
import { commitmentToDecimal, poseidonCommitment } from '../src/domain/proofs/poseidon-commitment.ts'
import { deriveProofContext, type ProofAction } from '../src/domain/proofs/proof-context.ts'
import { fileRoot, readRoot, retrievalSecret } from '../src/domain/crypto/key-derivation.ts'
import { introduce, NO_PROOF_COOLDOWN, startClientHost, startStorageNode, type TestStorageNode } from './helpers/storage-node.ts'
import { tempDir } from './helpers/temp-dir.ts'

const CODE = { NOT_FOUND: 1, UNAUTHORIZED: 2, INVALID_PROOF: 3, QUOTA_EXCEEDED: 4, CAPACITY_FULL: 5, MALFORMED: 6, TOO_LARGE: 7, EXPIRED: 8, ID_MISMATCH: 10 }

function newFileSecret (): { secret: bigint, commitment: bigint, decimal: string } {
  const secret = retrievalSecret(readRoot(fileRoot(randomBytes(32), randomBytes(16))))
  const commitment = poseidonCommitment(secret)
  return { secret, commitment, decimal: commitmentToDecimal(commitment) }
}

function newChunk (size = 4096): { chunkId: string, data: Uint8Array } {
  const data = randomBytes(size)
  return { chunkId: chunkIdOf(data), data }
}

describe('federation protocols: store, retrieve, delete', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  let prover: SnarkjsProver
  let verifier: SnarkjsVerifier
  const nodes: TestStorageNode[] = []
  let owner: Libp2p
  let stranger: Libp2p

  before(async () => {
    dir = await tempDir()
    const artefacts = await loadProofArtefacts()
    prover = await SnarkjsProver.create({ artefacts })
    verifier = await SnarkjsVerifier.create({ verificationKey: artefacts.verificationKey })
    for (let i = 0; i < 3; i++) nodes.push(await startStorageNode({ dir: join(dir.path, `n${i}`), verifier, proofAdmission: NO_PROOF_COOLDOWN }))
    owner = await startClientHost()
    stranger = await startClientHost()
    for (const node of nodes) for (const client of [owner, stranger]) await introduce(client, node)
  })

  after(async () => {
    for (const node of nodes) await node.stop()
    await owner.stop()
    await stranger.stop()
    await prover.close()
    await verifier.close()
    await dir.cleanup()
  })

  async function storeAll (host: Libp2p, node: TestStorageNode, chunks: Array<{ chunkId: string, data: Uint8Array }>, commitment: string, deleteCommitment = commitment) {
    const client = await StoreClient.open(host, node.host.peerId)
    const receipts = await Promise.all(chunks.map(async (c) => client.store({ ...c, commitment, deleteCommitment })))
    await client.close()
    return receipts
  }

  async function openSession (host: Libp2p, peer: PeerId, file: ReturnType<typeof newFileSecret>, action: ProofAction) {
    return SessionClient.open({ host, peer, action, secret: file.secret, commitment: file.commitment, prover })
  }

  /** Speaks the session protocol by hand up to the proof, to send proofs clients never would. */
  async function rawSession (host: Libp2p, node: TestStorageNode, protocol: string, commitment: string) {
    const stream = await host.dialProtocol(node.host.peerId, protocol)
    const framed = new FramedStream(stream, { maxFrameBytes: MAX_DATA_FRAME_BYTES, idleTimeoutMs: 10_000 })
    await framed.write(SessionRequestCodec, { hello: { commitment } })
    const first = await framed.read(SessionResponseCodec)
    assert.ok(first !== undefined && 'challenge' in first, `expected a challenge, got ${JSON.stringify(first)}`)
    return { framed, challenge: first.challenge }
  }

  async function proveFor (input: { secret: bigint, commitment: bigint, challenge: Uint8Array, expiresAt: number, storageNode: PeerId, requester: PeerId, action: ProofAction }) {
    const context = deriveProofContext({
      challenge: input.challenge,
      storageNode: input.storageNode.toMultihash().bytes,
      requester: input.requester.toMultihash().bytes,
      action: input.action,
      expiresAt: input.expiresAt
    })
    return encodeGroth16Proof(await prover.prove({ secret: input.secret, commitment: input.commitment, context }))
  }

  /** Reads responses to the end of the stream: an error must come, and never chunk data. */
  async function expectRefusal (framed: FramedStream, code: number): Promise<void> {
    const responses: SessionResponse[] = []
    for (;;) {
      const response = await framed.read(SessionResponseCodec).catch(() => undefined)
      if (response === undefined) break
      responses.push(response)
    }
    assert.ok(responses.every((r) => !('chunk' in r)), 'no chunk data after a refusal')
    const error = responses.find((r) => 'error' in r)
    assert.ok(error !== undefined && 'error' in error, `expected error ${code}, got ${JSON.stringify(responses)}`)
    assert.equal(error.error.code, code, error.error.message)
  }

  it('stores on two and three nodes and retrieves byte-identical chunks with one proof per node', async () => {
    const file = newFileSecret()
    const chunks = Array.from({ length: 6 }, (_, i) => newChunk(1000 + i * 5000))
    for (const node of nodes) {
      const receipts = await storeAll(owner, node, chunks, file.decimal)
      assert.equal(receipts.length, chunks.length)
      assert.ok(receipts.every((r) => r.commitment === file.decimal))
    }
    for (const node of nodes) {
      const session = await openSession(owner, node.host.peerId, file, 'read')
      const fetched = await Promise.all(chunks.map(async (c) => session.get(c.chunkId)))
      fetched.forEach((bytes, i) => assert.ok(Buffer.from(bytes).equals(Buffer.from(chunks[i]!.data))))
      assert.deepEqual(await session.list(), chunks.map((c) => c.chunkId).sort())
      await session.close()
      // a second stream on the same connection reuses the session: no new proof
      const again = await openSession(owner, node.host.peerId, { ...file, secret: 0n }, 'read')
      assert.ok(Buffer.from(await again.get(chunks[0]!.chunkId)).equals(Buffer.from(chunks[0]!.data)))
      await again.close()
    }
  })

  it('store is idempotent; two owners of one chunk id each retrieve and delete with their own proof', async () => {
    const node = nodes[0]!
    const [a, b] = [newFileSecret(), newFileSecret()]
    const chunk = newChunk(8000)
    const first = await storeAll(owner, node, [chunk], a.decimal)
    const second = await storeAll(owner, node, [chunk], a.decimal)
    assert.equal(first[0]!.timeMs, second[0]!.timeMs)
    await storeAll(stranger, node, [chunk], b.decimal)

    const sessionB = await openSession(stranger, node.host.peerId, b, 'read')
    assert.ok(Buffer.from(await sessionB.get(chunk.chunkId)).equals(Buffer.from(chunk.data)))
    const deleteA = await openSession(owner, node.host.peerId, a, 'delete')
    assert.equal((await deleteA.delete(chunk.chunkId)).bytesRemoved, false)
    await assert.rejects(deleteA.delete(chunk.chunkId), { name: 'NotFoundError' })
    assert.ok(Buffer.from(await sessionB.get(chunk.chunkId)).equals(Buffer.from(chunk.data)), 'B still has it')
    const deleteB = await openSession(stranger, node.host.peerId, b, 'delete')
    const receipt = await deleteB.delete(chunk.chunkId)
    assert.equal(receipt.bytesRemoved, true)
    assert.equal(await node.chunkStore.has(chunk.chunkId), false)
    const shard = join(node.chunksDir, 'chunks', chunk.chunkId.slice(-3, -1))
    assert.ok(!(await readdir(shard).catch(() => [] as string[])).includes(chunk.chunkId), 'the file is gone from disk')
    await assert.rejects(sessionB.get(chunk.chunkId), { name: 'NotFoundError' })
    for (const s of [sessionB, deleteA, deleteB]) await s.close()
  })

  describe('refusals', () => {
    const file = newFileSecret()
    const chunk = newChunk(3000)
    before(async () => { await storeAll(owner, nodes[1]!, [chunk], file.decimal) })

    it('a proof for another commitment: INVALID_PROOF', async () => {
      const other = newFileSecret()
      const { framed, challenge } = await rawSession(stranger, nodes[1]!, RETRIEVE_PROTOCOL, file.decimal)
      const proof = await proveFor({ ...other, challenge: challenge.nonce, expiresAt: challenge.expiresAtMs, storageNode: nodes[1]!.host.peerId, requester: stranger.peerId, action: 'read' })
      await framed.write(SessionRequestCodec, { proof: { proof } })
      await framed.write(SessionRequestCodec, { get: { chunkId: chunk.chunkId } })
      await expectRefusal(framed, CODE.INVALID_PROOF)
    })

    it('a replayed proof on a new connection: INVALID_PROOF', async () => {
      const { framed, challenge } = await rawSession(owner, nodes[1]!, RETRIEVE_PROTOCOL, file.decimal)
      const proof = await proveFor({ ...file, challenge: challenge.nonce, expiresAt: challenge.expiresAtMs, storageNode: nodes[1]!.host.peerId, requester: owner.peerId, action: 'read' })
      await framed.write(SessionRequestCodec, { proof: { proof } })
      const ready = await framed.read(SessionResponseCodec)
      assert.ok(ready !== undefined && 'ready' in ready)
      await framed.close()
      await owner.hangUp(nodes[1]!.host.peerId)
      const replay = await rawSession(owner, nodes[1]!, RETRIEVE_PROTOCOL, file.decimal)
      await replay.framed.write(SessionRequestCodec, { proof: { proof } })
      await expectRefusal(replay.framed, CODE.INVALID_PROOF)
    })

    it('a proof bound to another storage node: INVALID_PROOF', async () => {
      const { framed, challenge } = await rawSession(stranger, nodes[1]!, RETRIEVE_PROTOCOL, file.decimal)
      const proof = await proveFor({ ...file, challenge: challenge.nonce, expiresAt: challenge.expiresAtMs, storageNode: nodes[2]!.host.peerId, requester: stranger.peerId, action: 'read' })
      await framed.write(SessionRequestCodec, { proof: { proof } })
      await expectRefusal(framed, CODE.INVALID_PROOF)
    })

    it('a proof made for another requester (relayed): INVALID_PROOF', async () => {
      const { framed, challenge } = await rawSession(stranger, nodes[1]!, RETRIEVE_PROTOCOL, file.decimal)
      const proof = await proveFor({ ...file, challenge: challenge.nonce, expiresAt: challenge.expiresAtMs, storageNode: nodes[1]!.host.peerId, requester: owner.peerId, action: 'read' })
      await framed.write(SessionRequestCodec, { proof: { proof } })
      await expectRefusal(framed, CODE.INVALID_PROOF)
    })

    it('a read proof presented for delete: INVALID_PROOF', async () => {
      const { framed, challenge } = await rawSession(owner, nodes[1]!, DELETE_PROTOCOL, file.decimal)
      const proof = await proveFor({ ...file, challenge: challenge.nonce, expiresAt: challenge.expiresAtMs, storageNode: nodes[1]!.host.peerId, requester: owner.peerId, action: 'read' })
      await framed.write(SessionRequestCodec, { proof: { proof } })
      await expectRefusal(framed, CODE.INVALID_PROOF)
      assert.equal(await nodes[1]!.chunkStore.has(chunk.chunkId), true)
    })

    it('no proof: a get instead of a proof is UNAUTHORIZED; a get instead of hello is MALFORMED', async () => {
      const { framed } = await rawSession(stranger, nodes[1]!, RETRIEVE_PROTOCOL, file.decimal)
      await framed.write(SessionRequestCodec, { get: { chunkId: chunk.chunkId } })
      await expectRefusal(framed, CODE.UNAUTHORIZED)
      const stream = await stranger.dialProtocol(nodes[1]!.host.peerId, RETRIEVE_PROTOCOL)
      const bare = new FramedStream(stream, { maxFrameBytes: MAX_DATA_FRAME_BYTES, idleTimeoutMs: 10_000 })
      await bare.write(SessionRequestCodec, { get: { chunkId: chunk.chunkId } })
      await expectRefusal(bare, CODE.MALFORMED)
    })

    it('in a session, a get of an invalid chunk id is MALFORMED and the stream continues; a delete there is MALFORMED and closes', async () => {
      const { framed, challenge } = await rawSession(owner, nodes[1]!, RETRIEVE_PROTOCOL, file.decimal)
      const proof = await proveFor({ ...file, challenge: challenge.nonce, expiresAt: challenge.expiresAtMs, storageNode: nodes[1]!.host.peerId, requester: owner.peerId, action: 'read' })
      await framed.write(SessionRequestCodec, { proof: { proof } })
      assert.ok('ready' in (await framed.read(SessionResponseCodec))!)
      await framed.write(SessionRequestCodec, { get: { chunkId: 'not-a-chunk-id' } })
      const refused = await framed.read(SessionResponseCodec)
      assert.ok(refused !== undefined && 'error' in refused)
      assert.deepEqual([refused.error.code, refused.error.chunkId], [CODE.MALFORMED, 'not-a-chunk-id'])
      await framed.write(SessionRequestCodec, { get: { chunkId: chunk.chunkId } })
      const served = await framed.read(SessionResponseCodec)
      assert.ok(served !== undefined && 'chunk' in served && Buffer.from(served.chunk.data).equals(Buffer.from(chunk.data)))
      await framed.write(SessionRequestCodec, { delete: { chunkId: chunk.chunkId } })
      await expectRefusal(framed, CODE.MALFORMED)
      assert.equal(await nodes[1]!.chunkStore.has(chunk.chunkId), true)
    })

    it('a list instead of a proof is UNAUTHORIZED too, and closes the stream', async () => {
      const { framed } = await rawSession(stranger, nodes[1]!, RETRIEVE_PROTOCOL, file.decimal)
      await framed.write(SessionRequestCodec, { list: { after: '' } })
      await expectRefusal(framed, CODE.UNAUTHORIZED)
    })

    it('list is ascending in the byte order of the chunk id strings, page after page', async () => {
      const listed = newFileSecret()
      const chunks = Array.from({ length: 40 }, () => newChunk(64))
      await storeAll(owner, nodes[1]!, chunks, listed.decimal)
      const session = await openSession(owner, nodes[1]!.host.peerId, listed, 'read')
      const ids = await session.list()
      await session.close()
      assert.deepEqual(ids, chunks.map((c) => c.chunkId).sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))))
    })

    it('an expired challenge: EXPIRED', async () => {
      const sub = await tempDir()
      const node = await startStorageNode({ dir: sub.path, verifier, challengeTtlMs: 1 })
      await introduce(owner, node)
      try {
        await storeAll(owner, node, [chunk], file.decimal)
        const { framed, challenge } = await rawSession(owner, node, RETRIEVE_PROTOCOL, file.decimal)
        const proof = await proveFor({ ...file, challenge: challenge.nonce, expiresAt: challenge.expiresAtMs, storageNode: node.host.peerId, requester: owner.peerId, action: 'read' })
        await sleep(5)
        await framed.write(SessionRequestCodec, { proof: { proof } })
        await expectRefusal(framed, CODE.EXPIRED)
      } finally {
        await node.stop()
        await sub.cleanup()
      }
    })

    it('the typed client errors: NotFoundError for a chunk under another commitment', async () => {
      const other = newFileSecret()
      const session = await openSession(stranger, nodes[1]!.host.peerId, other, 'read')
      await assert.rejects(session.get(chunk.chunkId), { name: 'NotFoundError' })
      await session.close()
    })
  })

  describe('capabilities: a reader knows s, never d', () => {
    it('attack: a requester that knows s proves C on the delete protocol; every delete is NOT_FOUND, the bytes stay, the holder of d deletes them', async () => {
      const [read, del] = [newFileSecret(), newFileSecret()]
      const chunks = Array.from({ length: 3 }, () => newChunk(2000))
      for (const node of nodes) await storeAll(owner, node, chunks, read.decimal, del.decimal)
      for (const node of nodes) {
        // the proof is valid (the reader knows s), so a session opens: under D = C, which names nothing
        const reader = await openSession(stranger, node.host.peerId, read, 'delete')
        for (const c of chunks) await assert.rejects(reader.delete(c.chunkId), { name: 'NotFoundError' })
        await reader.close()
        const check = await openSession(stranger, node.host.peerId, read, 'read')
        for (const c of chunks) assert.ok(Buffer.from(await check.get(c.chunkId)).equals(Buffer.from(c.data)), 'still readable')
        await check.close()
      }
      for (const node of nodes) {
        const deleter = await openSession(owner, node.host.peerId, del, 'delete')
        for (const c of chunks) {
          const receipt = await deleter.delete(c.chunkId)
          assert.equal(receipt.bytesRemoved, true)
          // the DELETED receipt names the removed record: its C and its D
          assert.deepEqual([receipt.commitment, receipt.deleteCommitment], [read.decimal, del.decimal])
          assert.equal(await node.chunkStore.has(c.chunkId), false)
        }
        await deleter.close()
      }
    })

    it('attack: a reader stores a held (chunk, C) again under its own D; the node answers with the owner\'s D, the reader\'s client refuses it', async () => {
      const node = nodes[2]!
      const [read, del, forged] = [newFileSecret(), newFileSecret(), newFileSecret()]
      const chunk = newChunk(1500)
      await storeAll(owner, node, [chunk], read.decimal, del.decimal)
      await assert.rejects(storeAll(stranger, node, [chunk], read.decimal, forged.decimal), { name: 'InvalidReceiptError' })
      // what the node said, read off the wire
      const framed = new FramedStream(await stranger.dialProtocol(node.host.peerId, STORE_PROTOCOL), { maxFrameBytes: MAX_DATA_FRAME_BYTES, idleTimeoutMs: 10_000 })
      await framed.write(StoreRequestCodec, { ...chunk, commitment: read.decimal, deleteCommitment: forged.decimal })
      const answer = await framed.read(StoreResponseCodec)
      await framed.close()
      assert.equal(answer?.receipt?.deleteCommitment, del.decimal)
      const attempt = await openSession(stranger, node.host.peerId, forged, 'delete')
      await assert.rejects(attempt.delete(chunk.chunkId), { name: 'NotFoundError' })
      await attempt.close()
      const deleter = await openSession(owner, node.host.peerId, del, 'delete')
      assert.equal((await deleter.delete(chunk.chunkId)).bytesRemoved, true)
      await deleter.close()
    })
  })

  describe('limits', () => {
    it('quota and capacity: typed errors, nothing stored, the stream goes on', async () => {
      const sub = await tempDir()
      // a record is charged whole 4 KiB blocks plus 512 bytes (record-charge.ts): 4,608 for up to 4 KiB
      const node = await startStorageNode({ dir: sub.path, verifier, peerQuota: 11_520, capacity: 12_000 })
      for (const client of [owner, stranger]) await introduce(client, node)
      try {
        const file = newFileSecret()
        const client = await StoreClient.open(owner, node.host.peerId)
        await client.store({ ...newChunk(4000), commitment: file.decimal, deleteCommitment: file.decimal })
        const over = newChunk(5000)
        await assert.rejects(client.store({ ...over, commitment: file.decimal, deleteCommitment: file.decimal }), { name: 'QuotaExceededError' })
        assert.equal(await node.chunkStore.has(over.chunkId), false)
        await client.store({ ...newChunk(900), commitment: file.decimal, deleteCommitment: file.decimal })
        await client.close()
        const other = await StoreClient.open(stranger, node.host.peerId)
        await other.store({ ...newChunk(4000), commitment: file.decimal, deleteCommitment: file.decimal })
        await assert.rejects(other.store({ ...newChunk(1000), commitment: file.decimal, deleteCommitment: file.decimal }), { name: 'CapacityFullError' })
        await other.close()
      } finally {
        await node.stop()
        await sub.cleanup()
      }
    })
  })
})
