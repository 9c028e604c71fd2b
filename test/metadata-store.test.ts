import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Level } from 'level'
import { LevelMetadataStore } from '../src/adapters/metadata-store/level-metadata-store.ts'
import { MemoryMetadataStore } from '../src/adapters/metadata-store/memory-metadata-store.ts'
import { metadataStoreSuite } from './conformance/metadata-store.suite.ts'
import { newId } from './conformance/chunk-store.suite.ts'
import { tempDir } from './helpers/temp-dir.ts'

// the LevelMetadataStore tests that stood here are in the suite, with the same assertions
metadataStoreSuite('LevelMetadataStore', { durable: true, open: async (dir) => LevelMetadataStore.open({ location: dir }) })
metadataStoreSuite('MemoryMetadataStore', { durable: false, open: async () => new MemoryMetadataStore() })

describe('LevelMetadataStore: records written before delete commitments', () => {
  it('reads a v1 record (no delete commitment) with D = C, keeps it, and deletes it under C', async () => {
    const dir = await tempDir()
    try {
      // a record as protocol v1 wrote it: the same keys, a JSON value without deleteCommitment
      const chunkId = newId()
      const v1 = { chunkId, commitment: '4242', size: 10, storedBy: 'peerOld', storedAt: 1_600_000_000_000 }
      const db = new Level<string, string>(dir.path, { keyEncoding: 'utf8', valueEncoding: 'utf8' })
      await db.batch([
        { type: 'put', key: `r!${chunkId}!4242`, value: JSON.stringify(v1) },
        { type: 'put', key: `c!4242!${chunkId}`, value: '' },
        { type: 'put', key: 'p!peerOld', value: '10' }
      ])
      await db.close()
      const store = await LevelMetadataStore.open({ location: dir.path })
      try {
        const expected = { ...v1, deleteCommitment: '4242' }
        assert.deepEqual(await store.getRecord(chunkId, '4242'), expected)
        for await (const r of store.recordsForChunk(chunkId)) assert.deepEqual(r, expected)
        for await (const r of store.recordsForCommitment('4242')) assert.deepEqual(r, expected)
        assert.deepEqual((await store.admit({ chunkId, commitment: '4242', peer: 'peerOld', size: 10, quota: 0 })).existing, expected)
        assert.equal(await store.bytesStoredBy('peerOld'), 10)
        // records from before leases are due at once, for the sweep to lease them
        const due = []
        for await (const r of store.recordsDue(1)) due.push(r)
        assert.deepEqual(due, [expected])
      } finally {
        await store.close()
      }
    } finally {
      await dir.cleanup()
    }
  })
})

describe('LevelMetadataStore: byte counts kept in memory', () => {
  it('counts read while changes commit at once agree with the disk, as a fresh open reads it', async () => {
    const dir = await tempDir()
    try {
      const store = await LevelMetadataStore.open({ location: dir.path })
      const peers = ['peerA', 'peerB', 'peerC']
      const records = Array.from({ length: 60 }, (_, i) => ({
        chunkId: newId(), commitment: String(1000 + i), deleteCommitment: String(2000 + i), size: 100 + i, charge: 4096, storedBy: peers[i % 3]!, storedAt: 1_700_000_000_000,
        ...(i % 2 === 0 ? { strangerSubnet: '198.51.100.0/24' } : {})
      }))
      const seen: number[] = []
      try {
        // reads race the writes: a count read from disk while a group commits must not stick
        await Promise.all([
          ...records.map(async (r) => store.putRecord(r)),
          ...records.map(async (r) => { seen.push(await store.bytesStoredBy(r.storedBy)) }),
          ...records.slice(0, 20).map(async (r) => store.deleteRecord(r.chunkId, r.commitment))
        ])
        // deletes that ran before their put found nothing; end in a known state
        for (const r of records.slice(0, 20)) await store.deleteRecord(r.chunkId, r.commitment)
        const counts = await Promise.all(peers.map(async (p) => store.bytesStoredBy(p)))
        const subnet = await store.bytesStoredFromSubnet('198.51.100.0/24')
        assert.deepEqual(counts, peers.map((p) => records.slice(20).filter((r) => r.storedBy === p).length * 4096))
        assert.equal(subnet, records.slice(20).filter((r) => r.strangerSubnet !== undefined).length * 4096)
        // a quota is judged on the kept count: one more record over it is refused
        await assert.rejects(store.admit({ chunkId: newId(), commitment: '9', peer: 'peerA', size: 4096, quota: counts[0]! }), { name: 'QuotaExceededError' })
        assert.ok(seen.every((n) => n >= 0 && n % 4096 === 0))
        await store.close()
        const again = await LevelMetadataStore.open({ location: dir.path })
        try {
          assert.deepEqual(await Promise.all(peers.map(async (p) => again.bytesStoredBy(p))), counts)
          assert.equal(await again.bytesStoredFromSubnet('198.51.100.0/24'), subnet)
        } finally {
          await again.close()
        }
      } finally {
        await store.close()
      }
    } finally {
      await dir.cleanup()
    }
  })
})
