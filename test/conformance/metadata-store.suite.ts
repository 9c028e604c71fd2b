import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, it } from 'node:test'
import type { ChunkRecord, MetadataStore } from '../../src/ports/metadata-store.ts'
import { tempDir } from '../helpers/temp-dir.ts'
import { newId } from './chunk-store.suite.ts'

export interface MetadataStoreHarness {
  /** Opens the adapter on `dir`; opening the same dir again must see durable data. */
  open (dir: string): Promise<MetadataStore>
  /** Adapters that keep records across close and reopen. */
  durable: boolean
}

export function record (over: Partial<ChunkRecord> = {}): ChunkRecord {
  return { chunkId: newId(), commitment: '12345', deleteCommitment: '67890', size: 100, storedBy: 'peerA', storedAt: 1_700_000_000_000, ...over }
}

async function collect<T> (items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const item of items) out.push(item)
  return out
}

/** The MetadataStore contract (src/ports/metadata-store.ts) as tests. Every adapter runs it. */
export function metadataStoreSuite (name: string, harness: MetadataStoreHarness): void {
  describe(`MetadataStore conformance: ${name}`, () => {
    let dir: Awaited<ReturnType<typeof tempDir>>
    let store: MetadataStore

    beforeEach(async () => {
      dir = await tempDir()
      store = await harness.open(dir.path)
    })
    afterEach(async () => {
      await store.close()
      await dir.cleanup()
    })

    it('stores, reads and deletes a record; delete is idempotent', async () => {
      const r = record()
      await store.putRecord(r)
      assert.deepEqual(await store.getRecord(r.chunkId, r.commitment), r)
      await store.deleteRecord(r.chunkId, r.commitment)
      await store.deleteRecord(r.chunkId, r.commitment)
      await assert.rejects(store.getRecord(r.chunkId, r.commitment), { name: 'NotFoundError' })
      assert.equal(await store.bytesStoredBy(r.storedBy), 0)
    })

    it('keeps each record\'s delete commitment apart from its commitment, in every read', async () => {
      const chunkId = newId()
      const a = record({ chunkId, commitment: '1', deleteCommitment: '91' })
      const b = record({ chunkId, commitment: '2', deleteCommitment: '92' })
      await store.putRecord(a)
      await store.putRecord(b)
      assert.equal((await store.getRecord(chunkId, '1')).deleteCommitment, '91')
      assert.deepEqual((await collect(store.recordsForChunk(chunkId))).map((r) => r.deleteCommitment), ['91', '92'])
      assert.deepEqual((await collect(store.recordsForCommitment('2'))).map((r) => r.deleteCommitment), ['92'])
      assert.equal((await store.admit({ chunkId, commitment: '1', peer: 'peerA', size: 1, quota: 0 })).existing?.deleteCommitment, '91')
      // a delete commitment is no key: nothing is found under it
      await assert.rejects(store.getRecord(chunkId, '91'), { name: 'NotFoundError' })
      assert.deepEqual(await collect(store.recordsForCommitment('91')), [])
    })

    it('keeps one record per (chunk, commitment), a replacement moves the bytes to its peer', async () => {
      const chunkId = newId()
      await store.putRecord(record({ chunkId, commitment: '1', storedBy: 'peerQ', size: 10 }))
      await store.putRecord(record({ chunkId, commitment: '1', storedBy: 'peerQ', size: 10 }))
      await store.putRecord(record({ chunkId, commitment: '2', storedBy: 'peerR', size: 7 }))
      assert.equal(await store.bytesStoredBy('peerQ'), 10)
      assert.equal(await store.bytesStoredBy('peerR'), 7)
      await store.putRecord(record({ chunkId, commitment: '1', storedBy: 'peerR', size: 3 }))
      assert.equal(await store.bytesStoredBy('peerQ'), 0)
      assert.equal(await store.bytesStoredBy('peerR'), 10)
    })

    it('totals every peer\'s charges, through replacements and deletes, charges before sizes, and across a reopen', async () => {
      const chunkId = newId()
      await store.putRecord(record({ chunkId, commitment: '1', storedBy: 'peerQ', size: 10, charge: 4608 }))
      await store.putRecord(record({ chunkId, commitment: '2', storedBy: 'peerR', size: 7 })) // from before charges: its size
      await store.putRecord(record({ chunkId, commitment: '1', storedBy: 'peerR', size: 10, charge: 4608 }))
      assert.equal(await store.totalCharged(), 4608 + 7)
      assert.equal(await store.totalCharged(), await store.bytesStoredBy('peerQ') + await store.bytesStoredBy('peerR'))
      await store.deleteRecord(chunkId, '2')
      await store.deleteRecord(chunkId, '2')
      assert.equal(await store.totalCharged(), 4608)
      if (harness.durable) {
        await store.close()
        store = await harness.open(dir.path)
        assert.equal(await store.totalCharged(), 4608)
      }
    })

    it('streams records for a chunk and for a commitment in key order, after a given id', async () => {
      const ids = Array.from({ length: 6 }, () => newId()).sort()
      for (const chunkId of [...ids].reverse()) await store.putRecord(record({ chunkId, commitment: '42' }))
      await store.putRecord(record({ chunkId: ids[0]!, commitment: '7' }))
      await store.putRecord(record({ chunkId: ids[0]!, commitment: '300' }))
      assert.deepEqual((await collect(store.recordsForCommitment('42'))).map((r) => r.chunkId), ids)
      assert.deepEqual((await collect(store.recordsForCommitment('42', { after: ids[2] }))).map((r) => r.chunkId), ids.slice(3))
      assert.deepEqual((await collect(store.recordsForChunk(ids[0]!))).map((r) => r.commitment), ['300', '42', '7'])
      assert.deepEqual(await collect(store.recordsForCommitment('43')), [])
      // a commitment that is a prefix of another is not mixed up with it
      assert.deepEqual((await collect(store.recordsForCommitment('4'))), [])
    })

    it('counts concurrent records exactly (writes sharing a sync)', async () => {
      const records = Array.from({ length: 200 }, (_, i) => record({ storedBy: 'peerZ', size: i + 1, commitment: String(1000 + (i % 3)) }))
      await Promise.all(records.map(async (r) => store.putRecord(r)))
      assert.equal(await store.bytesStoredBy('peerZ'), 200 * 201 / 2)
      await Promise.all(records.slice(0, 100).map(async (r) => store.deleteRecord(r.chunkId, r.commitment)))
      assert.equal(await store.bytesStoredBy('peerZ'), 200 * 201 / 2 - 100 * 101 / 2)
      for (const r of records.slice(100)) assert.deepEqual(await store.getRecord(r.chunkId, r.commitment), r)
    })

    it('rejects malformed records with InvalidInputError and writes nothing', async () => {
      const bad: Array<Partial<ChunkRecord>> = [
        { chunkId: 'NOPE' }, { chunkId: '../../x' }, { commitment: 'x' }, { commitment: '1!2' }, { commitment: '' },
        { deleteCommitment: '' }, { deleteCommitment: 'x' }, { deleteCommitment: '1!2' }, { deleteCommitment: undefined },
        { size: -1 }, { size: 1.5 }, { storedBy: '' }, { storedBy: 'a!b' }, { storedAt: Number.NaN }, { strangerSubnet: '' }, { strangerSubnet: 'a!b' },
        { leaseCommitment: '' }, { leaseCommitment: 'L' }, { leaseCommitment: '1!2' }
      ]
      for (const over of bad) {
        const r = record({ storedBy: 'peerM', ...over })
        await assert.rejects(store.putRecord(r), { name: 'InvalidInputError' }, JSON.stringify(over))
      }
      assert.equal(await store.bytesStoredBy('peerM'), 0)
      assert.deepEqual(await collect(store.recordsForCommitment('12345')), [])
    })

    it('a failed write in a group of concurrent writes leaves nothing, the others all land', async () => {
      const good = Array.from({ length: 20 }, () => record({ storedBy: 'peerG', size: 5 }))
      const outcomes = await Promise.allSettled([
        ...good.slice(0, 10).map(async (r) => store.putRecord(r)),
        store.putRecord(record({ storedBy: 'peerG', size: -5 })),
        store.putRecord(record({ storedBy: 'peerG', commitment: 'not a number' })),
        ...good.slice(10).map(async (r) => store.putRecord(r))
      ])
      assert.deepEqual(outcomes.map((o) => o.status), [...Array(10).fill('fulfilled'), 'rejected', 'rejected', ...Array(10).fill('fulfilled')])
      assert.equal(await store.bytesStoredBy('peerG'), 100)
      assert.equal((await collect(store.recordsForCommitment('12345'))).length, 20)
    })

    describe('admit', () => {
      it('finds nothing for a new chunk and writes nothing', async () => {
        const r = record()
        const admission = await store.admit({ chunkId: r.chunkId, commitment: r.commitment, peer: 'peerA', size: 10, quota: 10 })
        assert.deepEqual(admission, { chunkHeld: false })
        await assert.rejects(store.getRecord(r.chunkId, r.commitment), { name: 'NotFoundError' })
        assert.equal(await store.bytesStoredBy('peerA'), 0)
      })

      it('returns the record already there, whatever the quota', async () => {
        const r = record({ size: 50 })
        await store.putRecord(r)
        const admission = await store.admit({ chunkId: r.chunkId, commitment: r.commitment, peer: r.storedBy, size: 50, quota: 0 })
        assert.deepEqual(admission, { existing: r, chunkHeld: true })
      })

      it('sees a chunk held under another commitment', async () => {
        const r = record({ commitment: '1' })
        await store.putRecord(r)
        assert.deepEqual(await store.admit({ chunkId: r.chunkId, commitment: '2', peer: 'peerB', size: 100, quota: 1000 }), { chunkHeld: true })
        // a commitment that extends another is a different record
        assert.deepEqual(await store.admit({ chunkId: r.chunkId, commitment: '11', peer: 'peerB', size: 100, quota: 1000 }), { chunkHeld: true })
        assert.deepEqual(await store.admit({ chunkId: newId(), commitment: '1', peer: 'peerB', size: 100, quota: 1000 }), { chunkHeld: false })
      })

      it('admits up to the quota exactly and refuses a byte more with QuotaExceededError', async () => {
        await store.putRecord(record({ storedBy: 'peerQ', size: 600 }))
        await store.putRecord(record({ storedBy: 'peerOther', size: 5000 }))
        const ask = { chunkId: newId(), commitment: '9', peer: 'peerQ', size: 400 }
        assert.deepEqual(await store.admit({ ...ask, quota: 1000 }), { chunkHeld: false })
        await assert.rejects(store.admit({ ...ask, quota: 999 }), { name: 'QuotaExceededError' })
        // an oversized claim cannot wrap the sum around
        await assert.rejects(store.admit({ ...ask, size: Number.MAX_SAFE_INTEGER, quota: 1000 }), { name: 'QuotaExceededError' })
      })

      it('counts the quota from what is stored after deletes and replacements', async () => {
        const r = record({ storedBy: 'peerD', size: 900 })
        await store.putRecord(r)
        const ask = { chunkId: newId(), commitment: '9', peer: 'peerD', size: 200, quota: 1000 }
        await assert.rejects(store.admit(ask), { name: 'QuotaExceededError' })
        await store.deleteRecord(r.chunkId, r.commitment)
        assert.deepEqual(await store.admit(ask), { chunkHeld: false })
      })

      it('weighs a stranger\'s subnet share: its subnet\'s records, across peers, replacements and deletes', async () => {
        const net = 'ip4:203.0.113'
        const first = record({ storedBy: 'sybil1', size: 300, strangerSubnet: net })
        await store.putRecord(first)
        await store.putRecord(record({ storedBy: 'sybil2', size: 300, strangerSubnet: net }))
        // other subnets, and the same peers' records without a subnet, do not count
        await store.putRecord(record({ storedBy: 'sybil1', size: 5000 }))
        await store.putRecord(record({ storedBy: 'elsewhere', size: 5000, strangerSubnet: 'ip4:198.51.100' }))
        assert.equal(await store.bytesStoredFromSubnet(net), 600)
        const ask = { chunkId: newId(), commitment: '9', peer: 'sybil3', size: 400, quota: 1000 }
        assert.deepEqual(await store.admit({ ...ask, subnet: { subnet: net, quota: 1000 } }), { chunkHeld: false })
        await assert.rejects(store.admit({ ...ask, subnet: { subnet: net, quota: 999 } }), { name: 'QuotaExceededError' })
        await store.putRecord({ ...first, size: 100 })
        assert.equal(await store.bytesStoredFromSubnet(net), 400)
        await store.deleteRecord(first.chunkId, first.commitment)
        assert.equal(await store.bytesStoredFromSubnet(net), 300)
        assert.equal(await store.bytesStoredFromSubnet('ip4:192.0.2'), 0)
      })

      it('rejects a malformed request with InvalidInputError', async () => {
        const ok = { chunkId: newId(), commitment: '9', peer: 'peerA', size: 1, quota: 10 }
        for (const over of [{ chunkId: 'x' }, { commitment: 'abc' }, { peer: '' }, { peer: 'a!b' }, { size: -1 }, { subnet: { subnet: '', quota: 1 } }, { subnet: { subnet: 'a!b', quota: 1 } }, { subnet: { subnet: 'ip4:1.2.3', quota: -1 } }]) {
          await assert.rejects(store.admit({ ...ok, ...over }), { name: 'InvalidInputError' }, JSON.stringify(over))
        }
      })
    })

    it('lists records due before a time, earliest first, bounded, following lease and trash changes', async () => {
      const legacy = record({ commitment: '7' })
      const soon = record({ commitment: '7', leaseExpiresAt: 2_000 })
      const later = record({ commitment: '7', leaseExpiresAt: 5_000 })
      const trashed = record({ commitment: '7', leaseExpiresAt: 1_000, trashUntil: 3_000 })
      for (const r of [later, trashed, soon, legacy]) await store.putRecord(r)
      const due = async (before: number, limit?: number): Promise<string[]> =>
        (await collect(store.recordsDue(before, limit === undefined ? {} : { limit }))).map((r) => r.chunkId)
      assert.deepEqual(await due(10_000), [legacy.chunkId, soon.chunkId, trashed.chunkId, later.chunkId])
      assert.deepEqual(await due(3_000), [legacy.chunkId, soon.chunkId], 'strictly before')
      assert.deepEqual(await due(10_000, 2), [legacy.chunkId, soon.chunkId])
      assert.deepEqual(await due(10_000, 0), [])
      // a renewal moves the record later, a collection removes it
      await store.putRecord({ ...soon, leaseExpiresAt: 9_000 })
      await store.deleteRecord(trashed.chunkId, trashed.commitment)
      assert.deepEqual(await due(10_000), [legacy.chunkId, later.chunkId, soon.chunkId])
      assert.deepEqual((await collect(store.recordsDue(10_000)))[2], { ...soon, leaseExpiresAt: 9_000 })
      await assert.rejects(store.putRecord(record({ leaseExpiresAt: 1.5 })), { name: 'InvalidInputError' })
      await assert.rejects(store.putRecord(record({ trashUntil: -1 })), { name: 'InvalidInputError' })
      // a lease commitment is kept as written and read back with the record (leases.md)
      const leased = record({ commitment: '8', leaseCommitment: '42', leaseExpiresAt: 4_000 })
      await store.putRecord(leased)
      assert.deepEqual(await store.getRecord(leased.chunkId, '8'), leased)
      assert.deepEqual(await collect(store.recordsForChunk(leased.chunkId)), [leased])
    })

    it('honours an already-fired AbortSignal on every method without any effect', async () => {
      const signal = AbortSignal.abort()
      const r = record({ storedBy: 'peerS' })
      await assert.rejects(store.putRecord(r, { signal }), { name: 'AbortError' })
      await assert.rejects(store.getRecord(r.chunkId, r.commitment), { name: 'NotFoundError' })
      assert.equal(await store.bytesStoredBy('peerS'), 0)
      await store.putRecord(r)
      await assert.rejects(store.deleteRecord(r.chunkId, r.commitment, { signal }), { name: 'AbortError' })
      assert.deepEqual(await store.getRecord(r.chunkId, r.commitment), r)
      await assert.rejects(store.getRecord(r.chunkId, r.commitment, { signal }), { name: 'AbortError' })
      await assert.rejects(store.admit({ chunkId: r.chunkId, commitment: '1', peer: 'p', size: 1, quota: 1 }, { signal }), { name: 'AbortError' })
      await assert.rejects(store.bytesStoredBy('peerS', { signal }), { name: 'AbortError' })
      await assert.rejects(collect(store.recordsForChunk(r.chunkId, { signal })), { name: 'AbortError' })
      await assert.rejects(collect(store.recordsForCommitment(r.commitment, { signal })), { name: 'AbortError' })
      await assert.rejects(collect(store.recordsDue(Infinity, { signal })), { name: 'AbortError' })
    })

    it('a write aborted in flight lands whole or not at all', async () => {
      for (let i = 0; i < 10; i++) {
        const r = record({ storedBy: 'peerF', size: 10 })
        const controller = new AbortController()
        const put = store.putRecord(r, { signal: controller.signal })
        await new Promise((resolve) => setTimeout(resolve, i % 3))
        controller.abort()
        await put.catch((err: Error) => assert.equal(err.name, 'AbortError'))
      }
      const held = await collect(store.recordsForCommitment('12345'))
      assert.equal(await store.bytesStoredBy('peerF'), held.length * 10)
    })

    it('close waits for writes in flight, rejects later calls with ClosedError, is idempotent', async () => {
      const records = Array.from({ length: 20 }, () => record({ storedBy: 'peerW', size: 1 }))
      const writes = records.map(async (r) => store.putRecord(r))
      await store.close()
      await store.close()
      await Promise.all(writes)
      await assert.rejects(store.putRecord(record()), { name: 'ClosedError' })
      await assert.rejects(store.getRecord(records[0]!.chunkId, records[0]!.commitment), { name: 'ClosedError' })
      await assert.rejects(store.admit({ chunkId: newId(), commitment: '1', peer: 'p', size: 1, quota: 1 }), { name: 'ClosedError' })
      await assert.rejects(store.bytesStoredBy('peerW'), { name: 'ClosedError' })
      if (harness.durable) {
        store = await harness.open(dir.path)
        assert.equal(await store.bytesStoredBy('peerW'), 20)
      } else {
        store = await harness.open(dir.path)
      }
    })

    if (harness.durable) {
      it('keeps records, indexes and byte counts across close and reopen', async () => {
        const kept = record({ storedBy: 'peerK', size: 30, strangerSubnet: 'ip6:2001:db8:0:1' })
        const gone = record({ storedBy: 'peerK', size: 5 })
        await store.putRecord(kept)
        await store.putRecord(gone)
        await store.deleteRecord(gone.chunkId, gone.commitment)
        await store.close()
        store = await harness.open(dir.path)
        assert.deepEqual(await store.getRecord(kept.chunkId, kept.commitment), kept)
        await assert.rejects(store.getRecord(gone.chunkId, gone.commitment), { name: 'NotFoundError' })
        assert.equal(await store.bytesStoredBy('peerK'), 30)
        assert.equal(await store.bytesStoredFromSubnet('ip6:2001:db8:0:1'), 30)
        assert.deepEqual((await collect(store.recordsForCommitment(kept.commitment))).map((r) => r.chunkId), [kept.chunkId])
        assert.deepEqual(await store.admit({ chunkId: kept.chunkId, commitment: kept.commitment, peer: 'peerK', size: 30, quota: 0 }), { existing: kept, chunkHeld: true })
      })
    }
  })
}
