import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, before, describe, it } from 'node:test'
import type { Libp2p } from '@libp2p/interface'
import { loadProofArtefacts } from '../src/adapters/proof/artefacts.ts'
import { SnarkjsProver } from '../src/adapters/proof/snarkjs-prover.ts'
import { SnarkjsVerifier } from '../src/adapters/proof/snarkjs-verifier.ts'
import { SessionClient } from '../src/adapters/libp2p/protocols/session-client.ts'
import { StoreClient } from '../src/adapters/libp2p/protocols/store-client.ts'
import { DELETE_PROTOCOL, MAX_DATA_FRAME_BYTES, MAX_RENEW_CHUNK_IDS, RETRIEVE_PROTOCOL } from '../src/adapters/libp2p/wire/constants.ts'
import { FramedStream } from '../src/adapters/libp2p/wire/framed-stream.ts'
import { SessionRequestCodec, SessionResponseCodec } from '../src/adapters/libp2p/wire/messages.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { commitmentToDecimal, poseidonCommitment } from '../src/domain/proofs/poseidon-commitment.ts'
import { deleteSecret, fileRoot, readRoot, retrievalSecret } from '../src/domain/crypto/key-derivation.ts'
import { BusyError, MalformedMessageError } from '../src/domain/protocol/federation-errors.ts'
import { NotFoundError } from '../src/errors.ts'
import { recordCharge } from '../src/domain/protocol/record-charge.ts'
import { introduce, NO_PROOF_COOLDOWN, startClientHost, startStorageNode, type TestStorageNode } from './helpers/storage-node.ts'
import { rejectsWith } from './helpers/rejects-with.ts'
import { tempDir } from './helpers/temp-dir.ts'

const UNAUTHORIZED = 2
const MALFORMED = 6
const TOO_LARGE = 7
// short leases; the sweep runs when the test says, so nothing here races a timer
const LEASE_MS = 1000
const TRASH_MS = 1000

/** Sleeps until the node's clock (this process's) is past `time`. */
async function until (time: number): Promise<void> {
  while (Date.now() <= time) await sleep(Math.max(10, time - Date.now() + 5))
}

describe('delete: renewing leases over the wire (protocol-spec/leases.md)', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  let prover: SnarkjsProver
  let verifier: SnarkjsVerifier
  let node: TestStorageNode
  let owner: Libp2p
  const root = fileRoot(randomBytes(32), randomBytes(16))
  const s = retrievalSecret(readRoot(root))
  const d = deleteSecret(root)
  const C = commitmentToDecimal(poseidonCommitment(s))
  const D = commitmentToDecimal(poseidonCommitment(d))
  const kept = randomBytes(5000)
  const dropped = randomBytes(5000)

  before(async () => {
    dir = await tempDir()
    const artefacts = await loadProofArtefacts()
    prover = await SnarkjsProver.create({ artefacts })
    verifier = await SnarkjsVerifier.create({ verificationKey: artefacts.verificationKey })
    node = await startStorageNode({ dir: join(dir.path, 'n'), verifier, proofAdmission: NO_PROOF_COOLDOWN, leases: { durationMs: LEASE_MS, trashMs: TRASH_MS, sweepEveryMs: 24 * 3_600_000 } })
    owner = await startClientHost()
    await introduce(owner, node)
  })

  after(async () => {
    await node?.stop()
    await owner?.stop()
    await prover?.close()
    await verifier?.close()
    await dir?.cleanup()
  })

  const open = async (action: 'read' | 'delete', secret: bigint): Promise<SessionClient> =>
    SessionClient.open({ host: owner, peer: node.host.peerId, action, secret, commitment: poseidonCommitment(secret), prover })

  it('an unrenewed record is collected after its lease and trash period while a renewed one is not; its charge is given back', async () => {
    const me = owner.peerId.toString()
    const roomBefore = await node.storage.roomFor(me)
    const store = await StoreClient.open(owner, node.host.peerId)
    for (const data of [kept, dropped]) await store.store({ chunkId: chunkIdOf(data), data, commitment: C, deleteCommitment: D })
    await store.close()
    const storedBy = Date.now()

    await until(storedBy + LEASE_MS)
    assert.equal((await node.storage.sweepLeases(100)).trashed, 2)
    const trashedBy = Date.now()
    const reader = await open('read', s)
    assert.equal((await reader.get(chunkIdOf(dropped))).byteLength, dropped.byteLength, 'in the trash, still served')

    const deleter = await open('delete', d)
    const renewed = await deleter.renew([chunkIdOf(kept), chunkIdOf(randomBytes(10))])
    assert.deepEqual(renewed.missing.length, 1, 'an id the node holds no record of is named missing')
    assert.ok(renewed.expiresAt > trashedBy)
    await deleter.close()

    await until(trashedBy + TRASH_MS)
    // one round: the renewed record can at most go back to the trash, never be collected
    const swept = await node.storage.sweepLeases(100)
    assert.equal(swept.collected, 1)
    assert.equal(swept.charge, recordCharge(dropped.byteLength))
    await rejectsWith(reader.get(chunkIdOf(dropped)), NotFoundError)
    assert.deepEqual(Buffer.from(await reader.get(chunkIdOf(kept))), kept)
    assert.equal(await node.chunkStore.has(chunkIdOf(dropped)), false, 'the bytes are freed')
    assert.equal(await node.storage.roomFor(me), roomBefore - recordCharge(kept.byteLength), 'the collected record\'s charge is given back')
    await reader.close()
  })

  it('the attack: a reader (who proves C on the delete protocol) or an owner of another file renews nothing', async () => {
    const data = randomBytes(100)
    const store = await StoreClient.open(owner, node.host.peerId)
    await store.store({ chunkId: chunkIdOf(data), data, commitment: C, deleteCommitment: D })
    await store.close()
    // a share code's holder knows s: on the delete protocol its session is under C, which names no record's D
    const reader = await open('delete', s)
    assert.deepEqual((await reader.renew([chunkIdOf(data)])).missing, [chunkIdOf(data)])
    await reader.close()
    const stranger = await open('delete', d + 1n)
    assert.deepEqual((await stranger.renew([chunkIdOf(data)])).missing, [chunkIdOf(data)])
    // refused in the session, which goes on: none, too many, repeated, malformed ids
    await rejectsWith(stranger.renew([]), MalformedMessageError)
    await rejectsWith(stranger.renew(Array.from({ length: MAX_RENEW_CHUNK_IDS + 1 }, () => chunkIdOf(randomBytes(8)))), MalformedMessageError)
    await rejectsWith(stranger.renew([chunkIdOf(data), chunkIdOf(data)]), MalformedMessageError)
    await rejectsWith(stranger.renew(['not-a-chunk-id']), MalformedMessageError)
    assert.deepEqual((await stranger.renew([chunkIdOf(data)])).missing, [chunkIdOf(data)])
    await stranger.close()
  })

  it('renews 1,000 chunks in one request', async (t) => {
    const store = await StoreClient.open(owner, node.host.peerId)
    const ids: string[] = []
    for (let i = 0; i < MAX_RENEW_CHUNK_IDS; i++) {
      const data = randomBytes(16)
      ids.push(chunkIdOf(data))
      await store.store({ chunkId: chunkIdOf(data), data, commitment: C, deleteCommitment: D })
    }
    await store.close()
    const deleter = await open('delete', d)
    const started = performance.now()
    const renewed = await deleter.renew(ids)
    t.diagnostic(`renewed ${ids.length} records in one request in ${Math.round(performance.now() - started)} ms`)
    assert.deepEqual(renewed.missing, [])
    await deleter.close()
  })

  it('before the proof a delete stream takes control frames only: a larger hello is refused TOO_LARGE', async () => {
    const stream = await owner.dialProtocol(node.host.peerId, DELETE_PROTOCOL)
    const framed = new FramedStream(stream, { maxFrameBytes: MAX_DATA_FRAME_BYTES, idleTimeoutMs: 10_000 })
    try {
      await framed.write(SessionRequestCodec, { renew: { chunkIds: Array.from({ length: 100 }, () => chunkIdOf(randomBytes(8))) } })
      const answer = await framed.read(SessionResponseCodec)
      assert.ok(answer !== undefined && 'error' in answer && answer.error.code === TOO_LARGE, JSON.stringify(answer))
    } finally {
      framed.abort(new Error('done'))
    }
  })

  for (const [name, protocol, proven] of [['before the proof (UNAUTHORIZED)', DELETE_PROTOCOL, false], ['in a read session (MALFORMED)', RETRIEVE_PROTOCOL, true]] as const) {
    it(`a renewal ${name} is refused and the stream closes`, async () => {
      const secret = proven ? s : d + 7n
      if (proven) await (await open('read', secret)).close()
      const stream = await owner.dialProtocol(node.host.peerId, protocol)
      const framed = new FramedStream(stream, { maxFrameBytes: MAX_DATA_FRAME_BYTES, idleTimeoutMs: 10_000 })
      try {
        await framed.write(SessionRequestCodec, { hello: { commitment: commitmentToDecimal(poseidonCommitment(secret)) } })
        const first = await framed.read(SessionResponseCodec)
        assert.ok(first !== undefined && (proven ? 'ready' in first : 'challenge' in first), JSON.stringify(first))
        await framed.write(SessionRequestCodec, { renew: { chunkIds: [chunkIdOf(kept)] } })
        const answer = await framed.read(SessionResponseCodec)
        assert.ok(answer !== undefined && 'error' in answer && answer.error.code === (proven ? MALFORMED : UNAUTHORIZED), JSON.stringify(answer))
        assert.equal(await framed.read(SessionResponseCodec), undefined, 'closed after the refusal')
      } finally {
        framed.abort(new Error('done'))
      }
    })
  }
})

describe('delete: a renewal is charged one request per id', () => {
  it('the attack: renewals of many ids at a time cannot outrun the request rate; over it the renewal is refused BUSY', async () => {
    const dir = await tempDir()
    const artefacts = await loadProofArtefacts()
    const prover = await SnarkjsProver.create({ artefacts })
    const verifier = await SnarkjsVerifier.create({ verificationKey: artefacts.verificationKey })
    // a burst of 200 and 1 a second: the proof costs 20, a renewal its ids
    const node = await startStorageNode({ dir: join(dir.path, 'n'), verifier, proofAdmission: NO_PROOF_COOLDOWN, limits: { burst: 200, requestsPerSecond: 1 } })
    const owner = await startClientHost()
    try {
      await introduce(owner, node)
      const session = await SessionClient.open({ host: owner, peer: node.host.peerId, action: 'delete', secret: 99n, commitment: poseidonCommitment(99n), prover })
      const ids = (n: number): string[] => Array.from({ length: n }, () => chunkIdOf(randomBytes(8)))
      assert.equal((await session.renew(ids(100))).missing.length, 100)
      await rejectsWith(session.renew(ids(150)), BusyError)
      await session.close()
    } finally {
      await owner.stop()
      await node.stop()
      await prover.close()
      await verifier.close()
      await dir.cleanup()
    }
  })
})
