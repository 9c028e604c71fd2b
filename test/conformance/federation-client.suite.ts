import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { afterEach, beforeEach, describe, it } from 'node:test'
import { chunkIdOf } from '../../src/domain/formats/chunk-id.ts'
import { commitmentToDecimal, poseidonCommitment } from '../../src/domain/proofs/poseidon-commitment.ts'
import { fileRoot, readRoot, retrievalSecret } from '../../src/domain/crypto/key-derivation.ts'
import { ChunkIdMismatchError, ConnectionLostError, InvalidProofError, InvalidReceiptError, MalformedMessageError, PeerUnreachableError } from '../../src/domain/protocol/federation-errors.ts'
import { AbortError, ClosedError, NotFoundError, UnauthorizedError } from '../../src/errors.ts'
import { rejectsWith } from '../helpers/rejects-with.ts'
import type { FederationClient } from '../../src/ports/federation-client.ts'

/** A fresh federation for one test: storage nodes and a client that reaches them. */
export interface FederationSubject {
  client: FederationClient
  /** Peer ids of the storage nodes, all reachable at the start (at least two). */
  peers: string[]
  /** A well-formed peer id no node answers to. */
  absentPeer: string
  /** Takes a node away: dials to it fail, streams open to it break. */
  disconnect (peerId: string): Promise<void>
  /** A client of the same federation whose proofs the nodes refuse; adapters that do not prove leave it out. */
  forger?: FederationClient
  teardown (): Promise<void>
}

export interface FederationClientHarness {
  setup (): Promise<FederationSubject>
}

/** A file's secret and the decimal commitment its chunks are stored under. */
export function newFile (): { secret: bigint, commitment: string } {
  const secret = retrievalSecret(readRoot(fileRoot(randomBytes(32), randomBytes(16))))
  return { secret, commitment: commitmentToDecimal(poseidonCommitment(secret)) }
}

/** What a store names for a file whose delete commitment is its read commitment (v1's rule). */
export function storedUnder (file: { commitment: string }): { commitment: string, deleteCommitment: string } {
  return { commitment: file.commitment, deleteCommitment: file.commitment }
}

export function newChunk (size = 2048): { chunkId: string, data: Uint8Array } {
  const data = new Uint8Array(randomBytes(size))
  return { chunkId: chunkIdOf(data), data }
}

function abortedSignal (): AbortSignal {
  return AbortSignal.abort(new Error('the caller gave up'))
}

/**
 * The FederationClient contract (src/ports/federation-client.ts) as tests. Every
 * adapter runs it; each test gets a fresh federation.
 */
export function federationClientSuite (name: string, harness: FederationClientHarness): void {
  describe(`FederationClient conformance: ${name}`, () => {
    let subject: FederationSubject
    let client: FederationClient
    let peer: string

    beforeEach(async () => {
      subject = await harness.setup()
      client = subject.client
      peer = subject.peers[0]!
    })
    afterEach(async () => subject.teardown())

    async function store (at: string, commitment: string, chunks: Array<{ chunkId: string, data: Uint8Array }>, deleteCommitment?: string, leaseCommitment?: string) {
      const channel = await client.openStore(at)
      try {
        return await Promise.all(chunks.map(async (c) => channel.store({ ...c, commitment, deleteCommitment: deleteCommitment ?? commitment, ...(leaseCommitment === undefined ? {} : { leaseCommitment }) })))
      } finally {
        await channel.close()
      }
    }

    async function listed (at: string, secret: bigint): Promise<string[]> {
      const session = await client.openSession(at, { action: 'read', secret })
      try {
        return await session.list()
      } finally {
        await session.close()
      }
    }

    it('lists every storage node as a candidate', async () => {
      const candidates = await client.candidates()
      assert.deepEqual(candidates.map((c) => c.peerId).sort(), [...subject.peers].sort())
      for (const c of candidates) assert.ok(c.freeBytes >= 0)
    })

    it('store resolves to a receipt of that node for that chunk', async () => {
      const file = newFile()
      const chunk = newChunk()
      const [receipt] = await store(peer, file.commitment, [chunk])
      assert.equal(receipt!.peerId, peer)
      assert.equal(receipt!.chunkId, chunk.chunkId)
      assert.ok(Buffer.from(receipt!.signature, 'base64').byteLength > 0)
    })

    it('a read session returns the stored bytes, and only that node has them', async () => {
      const file = newFile()
      const chunk = newChunk()
      await store(peer, file.commitment, [chunk])
      const session = await client.openSession(peer, { action: 'read', secret: file.secret })
      assert.deepEqual(Buffer.from(await session.get(chunk.chunkId)), Buffer.from(chunk.data))
      await session.close()
      const elsewhere = await client.openSession(subject.peers[1]!, { action: 'read', secret: file.secret })
      await rejectsWith(elsewhere.get(chunk.chunkId), NotFoundError)
      await elsewhere.close()
    })

    it('pipelined stores all settle, and list gives every id once, ascending', async () => {
      const file = newFile()
      const chunks = Array.from({ length: 12 }, () => newChunk(512))
      const receipts = await store(peer, file.commitment, chunks)
      assert.deepEqual(receipts.map((r) => r.chunkId), chunks.map((c) => c.chunkId))
      assert.deepEqual(await listed(peer, file.secret), chunks.map((c) => c.chunkId).sort())
    })

    it('storing the same chunk again is idempotent', async () => {
      const file = newFile()
      const chunk = newChunk()
      await store(peer, file.commitment, [chunk])
      const [again] = await store(peer, file.commitment, [chunk])
      assert.equal(again!.chunkId, chunk.chunkId)
      assert.deepEqual(await listed(peer, file.secret), [chunk.chunkId])
    })

    it('a get of a chunk that is not there is NotFoundError, and the session goes on', async () => {
      const file = newFile()
      const chunk = newChunk()
      await store(peer, file.commitment, [chunk])
      const session = await client.openSession(peer, { action: 'read', secret: file.secret })
      await rejectsWith(session.get(newChunk().chunkId), NotFoundError)
      assert.equal((await session.get(chunk.chunkId)).byteLength, chunk.data.byteLength)
      await session.close()
    })

    it('a session with another secret sees nothing of the file: wrong commitment, no bytes, no delete', async () => {
      const file = newFile()
      const chunk = newChunk()
      await store(peer, file.commitment, [chunk])
      const stranger = newFile()
      const reader = await client.openSession(peer, { action: 'read', secret: stranger.secret })
      await rejectsWith(reader.get(chunk.chunkId), NotFoundError)
      assert.deepEqual(await reader.list(), [])
      await reader.close()
      const deleter = await client.openSession(peer, { action: 'delete', secret: stranger.secret })
      await rejectsWith(deleter.delete(chunk.chunkId), NotFoundError)
      await deleter.close()
      assert.deepEqual(await listed(peer, file.secret), [chunk.chunkId])
    })

    it('delete under a delete session removes the chunk; deleting it again is NotFoundError', async () => {
      const file = newFile()
      const [gone, kept] = [newChunk(), newChunk()]
      await store(peer, file.commitment, [gone, kept])
      const session = await client.openSession(peer, { action: 'delete', secret: file.secret })
      assert.deepEqual(await session.delete(gone.chunkId), { bytesRemoved: true })
      await rejectsWith(session.delete(gone.chunkId), NotFoundError)
      await session.close()
      assert.deepEqual(await listed(peer, file.secret), [kept.chunkId])
    })

    it('a delete session for C cannot delete what was stored with D != C; the holder of d can', async () => {
      // the reader of a file knows s (C = Poseidon(s)) but not the owner's delete secret d
      const [file, owner] = [newFile(), newFile()]
      const [a, b] = [newChunk(), newChunk()]
      await store(peer, file.commitment, [a, b], owner.commitment)
      const reader = await client.openSession(peer, { action: 'delete', secret: file.secret })
      for (const c of [a, b]) await rejectsWith(reader.delete(c.chunkId), NotFoundError)
      await reader.close()
      assert.deepEqual(await listed(peer, file.secret), [a.chunkId, b.chunkId].sort(), 'every chunk still there')
      // nor is d a read capability: D names no record to read
      assert.deepEqual(await listed(peer, owner.secret), [])
      const deleter = await client.openSession(peer, { action: 'delete', secret: owner.secret })
      for (const c of [a, b]) assert.deepEqual(await deleter.delete(c.chunkId), { bytesRemoved: true })
      await deleter.close()
      assert.deepEqual(await listed(peer, file.secret), [])
    })

    it('renew (where the adapter renews) answers for the records under the session\'s D only: a reader\'s or a stranger\'s renewal names every chunk missing; a read session cannot renew', async () => {
      const [file, owner, stranger] = [newFile(), newFile(), newFile()]
      const [a, b] = [newChunk(), newChunk()]
      const absent = newChunk()
      await store(peer, file.commitment, [a, b], owner.commitment)
      const deleter = await client.openSession(peer, { action: 'delete', secret: owner.secret })
      if (deleter.renew === undefined) {
        await deleter.close()
        return
      }
      const renewed = await deleter.renew([a.chunkId, absent.chunkId, b.chunkId])
      assert.deepEqual(renewed.missing, [absent.chunkId])
      assert.equal(typeof renewed.expiresAt, 'number')
      await deleter.close()
      for (const other of [file, stranger]) {
        const session = await client.openSession(peer, { action: 'delete', secret: other.secret })
        assert.deepEqual((await session.renew!([a.chunkId, b.chunkId])).missing, [a.chunkId, b.chunkId])
        await session.close()
      }
      const reader = await client.openSession(peer, { action: 'read', secret: file.secret })
      await rejectsWith(reader.renew?.([a.chunkId]) ?? Promise.reject(new UnauthorizedError('no renew on a read session')), UnauthorizedError)
      assert.equal((await reader.get(a.chunkId)).byteLength, a.data.byteLength, 'the session goes on')
      await reader.close()
    })

    it('renew under the owner\'s lease commitment L (where the adapter renews) reaches the records stored with L, whatever their D; one renewed under its D with L gets it; the node says it keeps L', async () => {
      const [file, owner, lease] = [newFile(), newFile(), newFile()]
      const [a, b, c] = [newChunk(), newChunk(), newChunk()]
      await store(peer, file.commitment, [a, b], owner.commitment, lease.commitment)
      await store(peer, newFile().commitment, [c], owner.commitment)
      const leased = await client.openSession(peer, { action: 'delete', secret: lease.secret })
      if (leased.renew === undefined) {
        await leased.close()
        return
      }
      const renewed = await leased.renew([a.chunkId, b.chunkId, c.chunkId])
      assert.deepEqual(renewed.missing, [c.chunkId], 'c was stored without L')
      assert.equal(renewed.leaseCommitments, true)
      const deleter = await client.openSession(peer, { action: 'delete', secret: owner.secret })
      assert.deepEqual((await deleter.renew!([c.chunkId], { lease: lease.commitment })).missing, [])
      await deleter.close()
      assert.deepEqual((await leased.renew([a.chunkId, b.chunkId, c.chunkId])).missing, [])
      await leased.close()
    })

    it('storing a held (chunk, C) again under another D is InvalidReceiptError and leaves the owner\'s D', async () => {
      const [file, owner, reader] = [newFile(), newFile(), newFile()]
      const chunk = newChunk()
      await store(peer, file.commitment, [chunk], owner.commitment)
      await rejectsWith(store(peer, file.commitment, [chunk], reader.commitment), InvalidReceiptError)
      const attempt = await client.openSession(peer, { action: 'delete', secret: reader.secret })
      await rejectsWith(attempt.delete(chunk.chunkId), NotFoundError)
      await attempt.close()
      const deleter = await client.openSession(peer, { action: 'delete', secret: owner.secret })
      assert.deepEqual(await deleter.delete(chunk.chunkId), { bytesRemoved: true })
      await deleter.close()
    })

    it('a chunk two owners stored keeps its bytes until the last one deletes it', async () => {
      const [first, second] = [newFile(), newFile()]
      const chunk = newChunk()
      await store(peer, first.commitment, [chunk])
      await store(peer, second.commitment, [chunk])
      const firstDelete = await client.openSession(peer, { action: 'delete', secret: first.secret })
      assert.deepEqual(await firstDelete.delete(chunk.chunkId), { bytesRemoved: false })
      await firstDelete.close()
      const reader = await client.openSession(peer, { action: 'read', secret: second.secret })
      assert.deepEqual(Buffer.from(await reader.get(chunk.chunkId)), Buffer.from(chunk.data))
      await reader.close()
      const secondDelete = await client.openSession(peer, { action: 'delete', secret: second.secret })
      assert.deepEqual(await secondDelete.delete(chunk.chunkId), { bytesRemoved: true })
      await secondDelete.close()
    })

    it('a session does only its own action, and stays usable after a refusal', async () => {
      const file = newFile()
      const chunk = newChunk()
      await store(peer, file.commitment, [chunk])
      const deleter = await client.openSession(peer, { action: 'delete', secret: file.secret })
      await rejectsWith(deleter.get(chunk.chunkId), UnauthorizedError)
      await rejectsWith(deleter.list(), UnauthorizedError)
      const reader = await client.openSession(peer, { action: 'read', secret: file.secret })
      await rejectsWith(reader.delete(chunk.chunkId), UnauthorizedError)
      assert.equal((await reader.get(chunk.chunkId)).byteLength, chunk.data.byteLength)
      assert.deepEqual(await deleter.delete(chunk.chunkId), { bytesRemoved: true })
      await reader.close()
      await deleter.close()
    })

    it('refuses a chunk whose id is not the hash of its data and stores nothing; the channel goes on', async () => {
      const file = newFile()
      const chunk = newChunk()
      const other = newChunk()
      const channel = await client.openStore(peer)
      await rejectsWith(channel.store({ chunkId: chunk.chunkId, ...storedUnder(file), data: other.data }), ChunkIdMismatchError)
      await channel.store({ ...other, ...storedUnder(file) })
      await channel.close()
      assert.deepEqual(await listed(peer, file.secret), [other.chunkId])
    })

    it('refuses a malformed commitment or chunk id as MalformedMessageError', async () => {
      const chunk = newChunk()
      const channel = await client.openStore(peer)
      for (const commitment of ['', '12x', '-1', (2n ** 254n).toString()]) {
        await rejectsWith(channel.store({ ...chunk, commitment, deleteCommitment: newFile().commitment }), MalformedMessageError)
      }
      await rejectsWith(channel.store({ chunkId: 'not-a-chunk-id', ...storedUnder(newFile()), data: chunk.data }), MalformedMessageError)
      await channel.close()
    })

    it('a peer no node answers to is PeerUnreachableError, for store and for sessions', async () => {
      await rejectsWith(client.openStore(subject.absentPeer), PeerUnreachableError)
      await rejectsWith(client.openSession(subject.absentPeer, { action: 'read', secret: newFile().secret }), PeerUnreachableError)
    })

    it('a node that went away: open streams are lost, new ones unreachable', async () => {
      const file = newFile()
      const chunk = newChunk()
      await store(peer, file.commitment, [chunk])
      const channel = await client.openStore(peer)
      const session = await client.openSession(peer, { action: 'read', secret: file.secret })
      await subject.disconnect(peer)
      await rejectsWith(channel.store({ ...newChunk(), ...storedUnder(file) }), ConnectionLostError)
      await rejectsWith(session.get(chunk.chunkId), ConnectionLostError)
      await channel.close()
      await session.close()
      await rejectsWith(client.openStore(peer), PeerUnreachableError)
      // the other nodes are not affected
      await store(subject.peers[1]!, file.commitment, [chunk])
    })

    it('an aborted signal rejects every method with AbortError before it does anything', async () => {
      const file = newFile()
      const chunk = newChunk()
      await rejectsWith(client.candidates({ signal: abortedSignal() }), AbortError)
      await rejectsWith(client.openStore(peer, { signal: abortedSignal() }), AbortError)
      await rejectsWith(client.openSession(peer, { action: 'read', secret: file.secret }, { signal: abortedSignal() }), AbortError)
      const channel = await client.openStore(peer)
      await rejectsWith(channel.store({ ...chunk, ...storedUnder(file) }, { signal: abortedSignal() }), AbortError)
      await channel.close()
      const reader = await client.openSession(peer, { action: 'read', secret: file.secret })
      await rejectsWith(reader.get(chunk.chunkId, { signal: abortedSignal() }), AbortError)
      await rejectsWith(reader.list({ signal: abortedSignal() }), AbortError)
      assert.deepEqual(await reader.list(), [], 'an aborted store sent nothing')
      await reader.close()
      const deleter = await client.openSession(peer, { action: 'delete', secret: file.secret })
      await rejectsWith(deleter.delete(chunk.chunkId, { signal: abortedSignal() }), AbortError)
      await deleter.close()
    })

    it('aborting one call leaves the others on the channel running', async () => {
      const file = newFile()
      const [dropped, kept] = [newChunk(), newChunk()]
      const channel = await client.openStore(peer)
      const outcomes = await Promise.allSettled([
        channel.store({ ...dropped, ...storedUnder(file) }, { signal: abortedSignal() }),
        channel.store({ ...kept, ...storedUnder(file) })
      ])
      assert.equal(outcomes[0].status, 'rejected')
      assert.equal(outcomes[1].status, 'fulfilled')
      assert.equal((await channel.store({ ...newChunk(), ...storedUnder(file) })).peerId, peer)
      await channel.close()
    })

    it('the signal a channel or session was opened with ends it when it fires', async () => {
      const file = newFile()
      const chunk = newChunk()
      await store(peer, file.commitment, [chunk])
      const storing = new AbortController()
      const channel = await client.openStore(peer, { signal: storing.signal })
      const reading = new AbortController()
      const session = await client.openSession(peer, { action: 'read', secret: file.secret }, { signal: reading.signal })
      storing.abort()
      reading.abort()
      await rejectsWith(channel.store({ ...newChunk(), ...storedUnder(file) }), AbortError)
      await rejectsWith(session.get(chunk.chunkId), AbortError)
      await channel.close()
      await session.close()
    })

    it('calls after close are ClosedError; close is idempotent', async () => {
      const file = newFile()
      const chunk = newChunk()
      const channel = await client.openStore(peer)
      await channel.store({ ...chunk, ...storedUnder(file) })
      await channel.close()
      await channel.close()
      await rejectsWith(channel.store({ ...newChunk(), ...storedUnder(file) }), ClosedError)
      const session = await client.openSession(peer, { action: 'read', secret: file.secret })
      await session.close()
      await session.close()
      await rejectsWith(session.get(chunk.chunkId), ClosedError)
      await rejectsWith(session.list(), ClosedError)
    })

    it('a proof the node does not accept opens no session (InvalidProofError)', async (t) => {
      if (subject.forger === undefined) return t.skip('this adapter does not prove')
      const file = newFile()
      await store(peer, file.commitment, [newChunk()])
      await rejectsWith(subject.forger.openSession(peer, { action: 'read', secret: file.secret }), InvalidProofError)
      await rejectsWith(subject.forger.openSession(peer, { action: 'delete', secret: file.secret }), InvalidProofError)
      assert.equal((await listed(peer, file.secret)).length, 1)
    })
  })
}
