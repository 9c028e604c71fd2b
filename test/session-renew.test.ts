import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, before, describe, it } from 'node:test'
import type { Libp2p } from '@libp2p/interface'
import type { SnarkjsProver } from '../src/adapters/proof/snarkjs-prover.ts'
import { SessionClient } from '../src/adapters/libp2p/protocols/session-client.ts'
import { StoreClient } from '../src/adapters/libp2p/protocols/store-client.ts'
import { DELETE_PROTOCOL, MAX_DATA_FRAME_BYTES, MAX_RENEW_CHUNK_IDS, RETRIEVE_PROTOCOL } from '../src/adapters/libp2p/wire/constants.ts'
import { FramedStream } from '../src/adapters/libp2p/wire/framed-stream.ts'
import { SessionRequestCodec, SessionResponseCodec } from '../src/adapters/libp2p/wire/messages.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { commitmentToDecimal, poseidonCommitment } from '../src/domain/proofs/poseidon-commitment.ts'
import { deleteSecret, fileRoot, leaseSecret, readRoot, retrievalSecret } from '../src/domain/crypto/key-derivation.ts'
import { BusyError, MalformedMessageError } from '../src/domain/protocol/federation-errors.ts'
import { NotFoundError } from '../src/errors.ts'
import { recordCharge } from '../src/domain/protocol/record-charge.ts'
import { introduce, NO_PROOF_COOLDOWN, startClientHost, type TestStorageNode } from './helpers/storage-node.ts'
import { startProvingRig, type ProvingRig } from './helpers/proving-rig.ts'
import { rejectsWith } from './helpers/rejects-with.ts'

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
  let rig: ProvingRig
  let prover: SnarkjsProver
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
    rig = await startProvingRig({ proofAdmission: NO_PROOF_COOLDOWN, leases: { durationMs: LEASE_MS, trashMs: TRASH_MS, sweepEveryMs: 24 * 3_600_000 } })
    ;({ prover, owner } = rig)
    node = rig.nodes[0]!
  })

  after(async () => {
    await rig?.stop()
  })

  const open = async (action: 'read' | 'delete', secret: bigint): Promise<SessionClient> => rig.open(action, secret)

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

  describe('lease commitments: one session under the owner\'s L renews the records of every file (leases.md, "Lease commitments")', () => {
    const master = randomBytes(32)
    const l = leaseSecret(master)
    const L = commitmentToDecimal(poseidonCommitment(l))
    /** A file of its own: its own C and D, as every unbatched file has. */
    const file = (): { s: bigint, d: bigint, C: string, D: string } => {
      const root = fileRoot(master, randomBytes(16))
      const fs = retrievalSecret(readRoot(root))
      const fd = deleteSecret(root)
      return { s: fs, d: fd, C: commitmentToDecimal(poseidonCommitment(fs)), D: commitmentToDecimal(poseidonCommitment(fd)) }
    }
    const storeAll = async (items: Array<{ data: Uint8Array, C: string, D: string, L?: string }>): Promise<void> => {
      const store = await StoreClient.open(owner, node.host.peerId)
      for (const { data, C: c, D: dc, L: lc } of items) await store.store({ chunkId: chunkIdOf(data), data, commitment: c, deleteCommitment: dc, ...(lc === undefined ? {} : { leaseCommitment: lc }) })
      await store.close()
    }

    it('renews records of many files, each under its own D, in one session; that session deletes nothing', async () => {
      const files = Array.from({ length: 5 }, () => ({ ...file(), data: randomBytes(300) }))
      await storeAll(files.map((f) => ({ ...f, L })))
      const ids = files.map((f) => chunkIdOf(f.data))
      const stray = chunkIdOf(randomBytes(20))
      const leased = await open('delete', l)
      const renewed = await leased.renew([...ids, stray])
      assert.deepEqual(renewed.missing, [stray], 'every file renewed by the one proof of l')
      assert.equal(renewed.leaseCommitments, true, 'the node says it keeps lease commitments')
      // L renews, never ends: a delete under it finds nothing
      await rejectsWith(leased.delete(ids[0]!), NotFoundError)
      await leased.close()
      const reader = await open('read', files[0]!.s)
      assert.equal((await reader.get(ids[0]!)).byteLength, 300)
      await reader.close()
    })

    it('migration: a record stored without L is missing under L until one renewal proven under its D sets L', async () => {
      const f = { ...file(), data: randomBytes(200) }
      await storeAll([f])
      const id = chunkIdOf(f.data)
      const leased = await open('delete', l)
      assert.deepEqual((await leased.renew([id])).missing, [id])
      const deleter = await open('delete', f.d)
      assert.deepEqual((await deleter.renew([id], L)).missing, [])
      await deleter.close()
      assert.deepEqual((await leased.renew([id])).missing, [], 'under L from now on')
      await leased.close()
    })

    it('the attack: a reader who stores (chunk, C) again with an L of its own, or attaches its L in its own sessions, renews nothing of the owner\'s', async () => {
      const f = { ...file(), data: randomBytes(200) }
      await storeAll([f])
      const id = chunkIdOf(f.data)
      // the reader knows C (and s), not d: it stores the same record again naming its own lease commitment
      const mine = 777n
      const myL = commitmentToDecimal(poseidonCommitment(mine))
      await storeAll([{ data: f.data, C: f.C, D: f.D, L: myL }])
      const attacker = await open('delete', mine)
      assert.deepEqual((await attacker.renew([id])).missing, [id], 'the stored record kept no L of the reader\'s')
      // a session under its own L (or a C proven on the delete protocol) asking to set L touches nothing
      assert.deepEqual((await attacker.renew([id], myL)).missing, [id])
      await attacker.close()
      const asReader = await open('delete', f.s)
      assert.deepEqual((await asReader.renew([id], myL)).missing, [id])
      await asReader.close()
      const leased = await open('delete', l)
      assert.deepEqual((await leased.renew([id])).missing, [id], 'the owner\'s record still has no L: nothing was attached')
      await leased.close()
    })

    it('a store naming a malformed L is refused MALFORMED and stores nothing', async () => {
      const data = randomBytes(50)
      const store = await StoreClient.open(owner, node.host.peerId)
      await rejectsWith(store.store({ chunkId: chunkIdOf(data), data, commitment: C, deleteCommitment: D, leaseCommitment: 'twelve' }), MalformedMessageError)
      await store.close()
      assert.equal(await node.chunkStore.has(chunkIdOf(data)), false)
    })
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
    // a burst of 200 and 1 a second: the proof costs 20, a renewal its ids
    const rig = await startProvingRig({ proofAdmission: NO_PROOF_COOLDOWN, limits: { burst: 200, requestsPerSecond: 1 } })
    try {
      const session = await rig.open('delete', 99n)
      const ids = (n: number): string[] => Array.from({ length: n }, () => chunkIdOf(randomBytes(8)))
      assert.equal((await session.renew(ids(100))).missing.length, 100)
      await rejectsWith(session.renew(ids(150)), BusyError)
      await session.close()
    } finally {
      await rig.stop()
    }
  })
})
