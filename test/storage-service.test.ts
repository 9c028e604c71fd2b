import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { MemoryChunkStore } from '../src/adapters/chunk-store/memory-chunk-store.ts'
import { LevelMetadataStore } from '../src/adapters/metadata-store/level-metadata-store.ts'
import { MemoryMetadataStore } from '../src/adapters/metadata-store/memory-metadata-store.ts'
import { StorageService } from '../src/app/storage-service.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { StorageError } from '../src/errors.ts'
import { tempDir } from './helpers/temp-dir.ts'
import { recordCharge } from '../src/domain/protocol/record-charge.ts'

/** What one small record costs its storer: a disk block and its keeping. */
const CHARGE = recordCharge(100)

describe('StorageService', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  let metadata: LevelMetadataStore
  let chunkStore: MemoryChunkStore
  let storage: StorageService

  before(async () => {
    dir = await tempDir()
    metadata = await LevelMetadataStore.open({ location: join(dir.path, 'metadata') })
    chunkStore = new MemoryChunkStore()
    storage = new StorageService({ chunkStore, metadata, capacity: 1e9, allowanceOf: async () => 1e9, maxChunkBytes: 2 ** 20 + 1024 })
  })
  after(async () => {
    await metadata.close()
    await dir.cleanup()
  })

  it('lists chunk ids under a commitment in pages', async () => {
    const ids: string[] = []
    for (let i = 0; i < 25; i++) {
      const data = randomBytes(64)
      ids.push(chunkIdOf(data))
      await storage.store({ chunkId: chunkIdOf(data), commitment: '77', deleteCommitment: '77', data, from: 'peerA' })
    }
    const seen: string[] = []
    let page = await storage.list('77', '', 10)
    seen.push(...page.chunkIds)
    while (page.more) {
      page = await storage.list('77', seen.at(-1)!, 10)
      seen.push(...page.chunkIds)
    }
    assert.deepEqual(seen, ids.sort())
    assert.deepEqual((await storage.list('78', '', 10)).chunkIds, [])
  })

  it('collects chunk bytes no record needs, and only those', async () => {
    const kept = randomBytes(100)
    await storage.store({ chunkId: chunkIdOf(kept), commitment: '5', deleteCommitment: '5', data: kept, from: 'peerA' })
    const orphan = randomBytes(100)
    await chunkStore.put(chunkIdOf(orphan), orphan) // as if a crash came before its record
    assert.equal(await storage.collectOrphans(), 1)
    assert.equal(await chunkStore.has(chunkIdOf(orphan)), false)
    assert.equal(await chunkStore.has(chunkIdOf(kept)), true)
    assert.equal(await storage.collectOrphans(), 0)
  })
})

/** Stores that log the order of writes, so a test can see what is durable before what. */
function recordingStores (log: string[]): { chunkStore: MemoryChunkStore, metadata: MemoryMetadataStore } {
  const chunkStore = new MemoryChunkStore()
  const metadata = new MemoryMetadataStore()
  const put = chunkStore.put.bind(chunkStore)
  chunkStore.put = async (id, bytes, options) => {
    log.push('bytes')
    await new Promise((resolve) => setTimeout(resolve, 5))
    await put(id, bytes, options)
    log.push('bytes durable')
  }
  const putRecord = metadata.putRecord.bind(metadata)
  metadata.putRecord = async (record, options) => {
    log.push('record')
    await putRecord(record, options)
    log.push('record durable')
  }
  return { chunkStore, metadata }
}

function chunk (size = 100): { chunkId: string, data: Uint8Array } {
  const data = randomBytes(size)
  return { chunkId: chunkIdOf(data), data }
}

describe('StorageService write path', () => {
  const init = { capacity: 1e9, allowanceOf: async () => 1e9, maxChunkBytes: 2 ** 20 }

  it('resolves only after the bytes, then the record, are durable', async () => {
    const log: string[] = []
    const storage = new StorageService({ ...init, ...recordingStores(log) })
    await storage.store({ ...chunk(), commitment: '5', deleteCommitment: '5', from: 'peerA' })
    log.push('acknowledged')
    assert.deepEqual(log, ['bytes', 'bytes durable', 'record', 'record durable', 'acknowledged'])
  })

  it('a failed byte write leaves no record and holds no quota', async () => {
    const metadata = new MemoryMetadataStore()
    const chunkStore = new MemoryChunkStore()
    chunkStore.put = async () => { throw new StorageError('disk full') }
    const storage = new StorageService({ ...init, allowanceOf: async () => 1.5 * CHARGE, chunkStore, metadata })
    const c = chunk()
    await assert.rejects(storage.store({ ...c, commitment: '5', deleteCommitment: '5', from: 'peerA' }), { name: 'StorageError' })
    await assert.rejects(metadata.getRecord(c.chunkId, '5'), { name: 'NotFoundError' })
    // were the failed store's charge still held, this one would be over the quota
    chunkStore.put = MemoryChunkStore.prototype.put
    await storage.store({ ...chunk(), commitment: '5', deleteCommitment: '5', from: 'peerA' })
  })

  it('admits concurrent stores of one peer exactly up to its quota', async () => {
    const metadata = new MemoryMetadataStore()
    const storage = new StorageService({ ...init, allowanceOf: async () => 10 * CHARGE, chunkStore: new MemoryChunkStore(), metadata })
    const outcomes = await Promise.allSettled(Array.from({ length: 25 }, async () => storage.store({ ...chunk(100), commitment: '5', deleteCommitment: '5', from: 'greedy' })))
    assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 10)
    for (const o of outcomes) if (o.status === 'rejected') assert.equal(o.reason.name, 'QuotaExceededError')
    assert.equal(await metadata.bytesStoredBy('greedy'), 10 * CHARGE)
  })

  it('stores a record again for free, writes bytes another owner holds once, and heals lost bytes', async () => {
    const log: string[] = []
    const { chunkStore, metadata } = recordingStores(log)
    const storage = new StorageService({ ...init, allowanceOf: async () => CHARGE, chunkStore, metadata })
    const c = chunk(100)
    const first = await storage.store({ ...c, commitment: '5', deleteCommitment: '5', from: 'peerA' })
    // the quota is full, yet the same record again is no new charge and no new write
    assert.deepEqual(await storage.store({ ...c, commitment: '5', deleteCommitment: '5', from: 'peerA' }), first)
    await storage.store({ ...c, commitment: '6', deleteCommitment: '6', from: 'peerB' })
    assert.equal(log.filter((e) => e === 'bytes').length, 1)
    await chunkStore.delete(c.chunkId) // the medium lost it
    await storage.store({ ...c, commitment: '5', deleteCommitment: '5', from: 'peerA' })
    assert.equal(log.filter((e) => e === 'bytes').length, 2)
    assert.ok(Buffer.from(await storage.read(c.chunkId, '5')).equals(c.data))
  })

  it('tells a malformed id from one that is not the hash of the data', async () => {
    const storage = new StorageService({ ...init, chunkStore: new MemoryChunkStore(), metadata: new MemoryMetadataStore() })
    const c = chunk()
    await assert.rejects(storage.store({ chunkId: chunk().chunkId, data: c.data, commitment: '5', deleteCommitment: '5', from: 'p' }), { name: 'ChunkIdMismatchError' })
    // the right shape but not canonical (a CIDv1 of another codec), and not the data's hash either
    const otherCodec = 'bafyreih' + c.chunkId.slice(8)
    await assert.rejects(storage.store({ chunkId: otherCodec, data: c.data, commitment: '5', deleteCommitment: '5', from: 'p' }), { name: 'InvalidChunkIdError' })
    await assert.rejects(storage.store({ chunkId: 'NOT-AN-ID', data: c.data, commitment: '5', deleteCommitment: '5', from: 'p' }), { name: 'InvalidChunkIdError' })
    await assert.rejects(storage.store({ ...c, commitment: 'x', deleteCommitment: '5', from: 'p' }), { name: 'InvalidFieldElementError' })
  })
})

describe('StorageService: reads under C, deletes under D', () => {
  const init = { capacity: 1e9, allowanceOf: async () => 1e9, maxChunkBytes: 2 ** 20 }
  const [C, D, OTHER_D] = ['1111', '2222', '3333']
  const fresh = () => {
    const chunkStore = new MemoryChunkStore()
    const metadata = new MemoryMetadataStore()
    return { chunkStore, metadata, storage: new StorageService({ ...init, chunkStore, metadata }) }
  }

  it('keeps both commitments; removing under C is NotFoundError and leaves the bytes, under D removes them', async () => {
    const { storage, chunkStore } = fresh()
    const c = chunk()
    assert.deepEqual(await storage.store({ ...c, commitment: C, deleteCommitment: D, from: 'owner' }).then(({ commitment, deleteCommitment }) => ({ commitment, deleteCommitment })), { commitment: C, deleteCommitment: D })
    // the read secret's commitment is no delete capability
    await assert.rejects(storage.remove(c.chunkId, C), { name: 'NotFoundError' })
    assert.ok(Buffer.from(await storage.read(c.chunkId, C)).equals(c.data))
    // nor is D a read capability
    await assert.rejects(storage.read(c.chunkId, D), { name: 'NotFoundError' })
    const { removed, bytesRemoved } = await storage.remove(c.chunkId, D)
    assert.deepEqual({ commitment: removed.commitment, deleteCommitment: removed.deleteCommitment, bytesRemoved }, { commitment: C, deleteCommitment: D, bytesRemoved: true })
    assert.equal(await chunkStore.has(c.chunkId), false)
    await assert.rejects(storage.remove(c.chunkId, D), { name: 'NotFoundError' })
  })

  it('attack: a reader who knows C stores the chunk again under its own D; the record keeps the owner\'s D', async () => {
    const { storage, metadata } = fresh()
    const c = chunk()
    await storage.store({ ...c, commitment: C, deleteCommitment: D, from: 'owner' })
    const answered = await storage.store({ ...c, commitment: C, deleteCommitment: OTHER_D, from: 'reader' })
    assert.equal(answered.deleteCommitment, D, 'the answer names the record as it is, so the reader\'s client sees its D was not taken')
    assert.equal((await metadata.getRecord(c.chunkId, C)).deleteCommitment, D)
    await assert.rejects(storage.remove(c.chunkId, OTHER_D), { name: 'NotFoundError' })
    assert.equal((await storage.remove(c.chunkId, D)).bytesRemoved, true)
  })

  it('the attack again after the medium lost the bytes: healing them keeps the owner\'s D and owner', async () => {
    const { storage, metadata, chunkStore } = fresh()
    const c = chunk()
    await storage.store({ ...c, commitment: C, deleteCommitment: D, from: 'owner' })
    await chunkStore.delete(c.chunkId)
    const answered = await storage.store({ ...c, commitment: C, deleteCommitment: OTHER_D, from: 'reader' })
    assert.equal(answered.deleteCommitment, D)
    assert.deepEqual(await chunkStore.has(c.chunkId), true)
    const record = await metadata.getRecord(c.chunkId, C)
    assert.deepEqual([record.deleteCommitment, record.storedBy], [D, 'owner'])
  })

  it('removes every record of the chunk under D, and keeps the bytes for a record under another D', async () => {
    const { storage, metadata, chunkStore } = fresh()
    const c = chunk()
    await storage.store({ ...c, commitment: '5', deleteCommitment: D, from: 'owner' })
    await storage.store({ ...c, commitment: '6', deleteCommitment: D, from: 'owner' })
    await storage.store({ ...c, commitment: '7', deleteCommitment: OTHER_D, from: 'someone' })
    const { removed, bytesRemoved } = await storage.remove(c.chunkId, D)
    assert.equal(bytesRemoved, false)
    assert.equal(removed.commitment, '5', 'the first record in commitment order is the one the receipt names')
    await assert.rejects(metadata.getRecord(c.chunkId, '6'), { name: 'NotFoundError' })
    assert.ok(Buffer.from(await storage.read(c.chunkId, '7')).equals(c.data))
    assert.equal((await storage.remove(c.chunkId, OTHER_D)).bytesRemoved, true)
    assert.equal(await chunkStore.has(c.chunkId), false)
  })

  it('refuses a store without a valid delete commitment, storing nothing', async () => {
    const { storage, chunkStore } = fresh()
    const c = chunk()
    for (const deleteCommitment of ['', 'x', '-1', (2n ** 254n).toString()]) {
      await assert.rejects(storage.store({ ...c, commitment: C, deleteCommitment, from: 'p' }), { name: 'InvalidFieldElementError' }, deleteCommitment)
    }
    assert.equal(await chunkStore.has(c.chunkId), false)
  })
})
