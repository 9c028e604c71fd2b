import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { MemoryChunkStore } from '../src/adapters/chunk-store/memory-chunk-store.ts'
import { LevelMetadataStore } from '../src/adapters/metadata-store/level-metadata-store.ts'
import { MemoryMetadataStore } from '../src/adapters/metadata-store/memory-metadata-store.ts'
import { StorageService } from '../src/app/storage-service.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { recordCharge } from '../src/domain/protocol/record-charge.ts'
import type { MetadataStore } from '../src/ports/metadata-store.ts'
import { tempDir } from './helpers/temp-dir.ts'

const LEASE = 1_000
const TRASH = 500
const D = '424242'

/** A StorageService on a clock the test moves by hand: nothing here waits on a timer. */
function subject (metadata: MetadataStore): { storage: StorageService, chunkStore: MemoryChunkStore, clock: { now: number } } {
  const clock = { now: 1_000_000 }
  const chunkStore = new MemoryChunkStore()
  const storage = new StorageService({
    chunkStore, metadata, capacity: 1e9, allowanceOf: async () => 1e9, maxChunkBytes: 2 ** 20 + 1024, leases: { durationMs: LEASE, trashMs: TRASH }, now: () => clock.now
  })
  return { storage, chunkStore, clock }
}

async function put (storage: StorageService, commitment = '777', deleteCommitment = D, from = 'owner'): Promise<string> {
  const data = randomBytes(100)
  await storage.store({ chunkId: chunkIdOf(data), commitment, deleteCommitment, data, from })
  return chunkIdOf(data)
}

for (const [name, open] of [
  ['memory', async () => ({ metadata: new MemoryMetadataStore() as MetadataStore, done: async () => {} })],
  ['LevelDB', async () => {
    const dir = await tempDir()
    const metadata = await LevelMetadataStore.open({ location: dir.path })
    return { metadata: metadata as MetadataStore, done: async () => { await metadata.close(); await dir.cleanup() } }
  }]
] as const) {
  describe(`leases and collection (${name} records)`, () => {
    /** Runs `test` on a fresh metadata store of this adapter, closed and removed afterwards. */
    async function inStore (test: (metadata: MetadataStore) => Promise<void>): Promise<void> {
      const { metadata, done } = await open()
      try {
        await test(metadata)
      } finally {
        await done()
      }
    }

    it('collects an unrenewed record after its lease and trash period while a renewed one stays; the charge is given back', async () => inStore(async (metadata) => {
      const { storage, chunkStore, clock } = subject(metadata)
      const kept = await put(storage)
      const dropped = await put(storage, '778', '999')
      assert.equal(await metadata.bytesStoredBy('owner'), 2 * recordCharge(100))
      assert.equal((await metadata.getRecord(kept, '777')).leaseExpiresAt, clock.now + LEASE)

      clock.now += LEASE - 1
      assert.deepEqual(await storage.sweepLeases(100), { leased: 0, trashed: 0, collected: 0, charge: 0, more: false }, 'nothing is due inside the lease')
      assert.deepEqual(await storage.renew([kept], D), { expiresAt: clock.now + LEASE, missing: [] })

      clock.now += 2
      assert.deepEqual(await storage.sweepLeases(100), { leased: 0, trashed: 1, collected: 0, charge: 0, more: false })
      // in the trash: still served, not yet freed
      assert.equal((await storage.read(dropped, '778')).byteLength, 100)
      assert.equal(await metadata.bytesStoredBy('owner'), 2 * recordCharge(100))

      clock.now += TRASH + 1
      assert.deepEqual(await storage.sweepLeases(100), { leased: 0, trashed: 0, collected: 1, charge: recordCharge(100), more: false })
      await assert.rejects(storage.read(dropped, '778'), { name: 'NotFoundError' })
      assert.equal(await chunkStore.has(dropped), false, 'the bytes went with the last record')
      assert.equal(await metadata.bytesStoredBy('owner'), recordCharge(100), 'the charge is given back')
      assert.equal((await storage.read(kept, '777')).byteLength, 100)
      assert.deepEqual(storage.leaseCounts(), { leased: 0, trashed: 1, collected: 1, charge: recordCharge(100) }, 'what /metrics shows')
    }))

    it('a renewal in the trash brings the record back; a renewal never shortens a lease', async () => inStore(async (metadata) => {
      const { storage, clock } = subject(metadata)
      const id = await put(storage)
      clock.now += LEASE + 1
      assert.equal((await storage.sweepLeases(100)).trashed, 1)
      await storage.renew([id], D)
      const renewed = await metadata.getRecord(id, '777')
      assert.equal(renewed.trashUntil, undefined)
      assert.equal(renewed.leaseExpiresAt, clock.now + LEASE)
      clock.now += TRASH + 1
      assert.equal((await storage.sweepLeases(100)).collected, 0)
      // an earlier clock (a renewal computed from less) keeps the later expiry
      clock.now -= 1_000
      await storage.renew([id], D)
      assert.equal((await metadata.getRecord(id, '777')).leaseExpiresAt, renewed.leaseExpiresAt)
    }))

    it('the attack: a renewal under any other delete commitment (a reader\'s C, a guess) renews nothing and the record is collected', async () => inStore(async (metadata) => {
      const { storage, clock } = subject(metadata)
      const id = await put(storage)
      for (const other of ['777', '1', '424243']) {
        assert.deepEqual((await storage.renew([id], other)).missing, [id])
      }
      clock.now += LEASE + 1
      await storage.sweepLeases(100)
      clock.now += TRASH + 1
      assert.equal((await storage.sweepLeases(100)).collected, 1)
    }))

    it('the attack: junk a stranger stores naming the owner\'s L (every holder sees it) is not kept alive by the owner\'s renewals, which name only the owner\'s ids', async () => inStore(async (metadata) => {
      const { storage, clock } = subject(metadata)
      const L = '31337'
      const owners = randomBytes(100)
      await storage.store({ chunkId: chunkIdOf(owners), commitment: '777', deleteCommitment: D, leaseCommitment: L, data: owners, from: 'owner' })
      const junk: string[] = []
      for (let i = 0; i < 5; i++) {
        const data = randomBytes(100)
        await storage.store({ chunkId: chunkIdOf(data), commitment: '555', deleteCommitment: '666', leaseCommitment: L, data, from: `sybil${i}` })
        junk.push(chunkIdOf(data))
      }
      // each round the owner renews under L the ids it references, and nothing else
      for (let round = 0; round < 3; round++) {
        clock.now += LEASE - 10
        assert.deepEqual((await storage.renew([chunkIdOf(owners)], L)).missing, [])
        await storage.sweepLeases(100)
      }
      clock.now += TRASH + 1
      await storage.sweepLeases(100)
      assert.equal((await metadata.getRecord(chunkIdOf(owners), '777')).trashUntil, undefined, 'the owner\'s record is leased')
      for (const id of junk) await assert.rejects(metadata.getRecord(id, '555'), 'the junk was collected')
    }))

    it('keeps shared bytes for the record still leased; bounds each round', async () => inStore(async (metadata) => {
      const { storage, chunkStore, clock } = subject(metadata)
      const data = randomBytes(100)
      const id = chunkIdOf(data)
      await storage.store({ chunkId: id, commitment: '1', deleteCommitment: '11', data, from: 'a' })
      await storage.store({ chunkId: id, commitment: '2', deleteCommitment: '22', data, from: 'b' })
      for (let i = 0; i < 5; i++) await put(storage, '3', '33')
      clock.now += LEASE + 1
      await storage.renew([id], '22')
      const first = await storage.sweepLeases(4)
      assert.deepEqual(first, { leased: 0, trashed: 4, collected: 0, charge: 0, more: true })
      assert.deepEqual(await storage.sweepLeases(4), { leased: 0, trashed: 2, collected: 0, charge: 0, more: false })
      clock.now += TRASH + 1
      assert.equal((await storage.sweepLeases(100)).collected, 6)
      assert.equal(await chunkStore.has(id), true)
      assert.equal(await metadata.bytesStoredBy('a'), 0)
      assert.equal(await metadata.bytesStoredBy('b'), recordCharge(100))
    }))

    it('a record from before leases is leased from the sweep that first meets it: an upgrade collects nothing at once', async () => inStore(async (metadata) => {
      const { storage, clock } = subject(metadata)
      const id = await put(storage)
      const { leaseExpiresAt: _lease, ...old } = await metadata.getRecord(id, '777')
      await metadata.putRecord({ ...old, storedAt: 1 })
      assert.deepEqual(await storage.sweepLeases(100), { leased: 1, trashed: 0, collected: 0, charge: 0, more: false })
      assert.equal((await metadata.getRecord(id, '777')).leaseExpiresAt, clock.now + LEASE)
      clock.now += LEASE + TRASH
      await storage.sweepLeases(100)
      assert.equal((await storage.read(id, '777')).byteLength, 100, 'in the trash, not gone')
    }))
  })
}
