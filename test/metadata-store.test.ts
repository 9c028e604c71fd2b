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
