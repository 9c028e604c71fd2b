import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { LevelMetadataStore } from '../src/adapters/metadata-store/level-metadata-store.ts'
import type { ChunkRecord } from '../src/ports/metadata-store.ts'
import { newId } from './conformance/chunk-store.suite.ts'
import { tempDir } from './helpers/temp-dir.ts'

describe('LevelMetadataStore', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  let store: LevelMetadataStore
  before(async () => {
    dir = await tempDir()
    store = await LevelMetadataStore.open({ location: dir.path })
  })
  after(async () => {
    await store.close()
    await dir.cleanup()
  })

  const record = (over: Partial<ChunkRecord> = {}): ChunkRecord => ({
    chunkId: newId(), commitment: '12345', size: 100, storedBy: 'peerA', storedAt: Date.now(), ...over
  })

  it('stores, reads and deletes a record', async () => {
    const r = record()
    await store.putRecord(r)
    assert.deepEqual(await store.getRecord(r.chunkId, r.commitment), r)
    await store.deleteRecord(r.chunkId, r.commitment)
    await store.deleteRecord(r.chunkId, r.commitment)
    await assert.rejects(store.getRecord(r.chunkId, r.commitment), { name: 'NotFoundError' })
  })

  it('keeps one record per (chunk, commitment) and counts per-peer bytes', async () => {
    const chunkId = newId()
    const before = await store.bytesStoredBy('peerQ')
    await store.putRecord(record({ chunkId, commitment: '1', storedBy: 'peerQ', size: 10 }))
    await store.putRecord(record({ chunkId, commitment: '1', storedBy: 'peerQ', size: 10 }))
    await store.putRecord(record({ chunkId, commitment: '2', storedBy: 'peerR', size: 7 }))
    assert.equal(await store.bytesStoredBy('peerQ'), before + 10)
    assert.equal(await store.bytesStoredBy('peerR'), 7)
    const forChunk = []
    for await (const r of store.recordsForChunk(chunkId)) forChunk.push(r.commitment)
    assert.deepEqual(forChunk, ['1', '2'])
    const forCommitment = []
    for await (const r of store.recordsForCommitment('2')) forCommitment.push(r.chunkId)
    assert.deepEqual(forCommitment, [chunkId])
    await store.deleteRecord(chunkId, '1')
    assert.equal(await store.bytesStoredBy('peerQ'), before)
  })

  it('counts concurrent records exactly (group commit)', async () => {
    const records = Array.from({ length: 200 }, (_, i) => record({ storedBy: 'peerZ', size: i + 1, commitment: String(1000 + (i % 3)) }))
    await Promise.all(records.map(async (r) => store.putRecord(r)))
    assert.equal(await store.bytesStoredBy('peerZ'), 200 * 201 / 2)
    await Promise.all(records.slice(0, 100).map(async (r) => store.deleteRecord(r.chunkId, r.commitment)))
    assert.equal(await store.bytesStoredBy('peerZ'), 200 * 201 / 2 - 100 * 101 / 2)
    for (const r of records.slice(100)) assert.deepEqual(await store.getRecord(r.chunkId, r.commitment), r)
  })

  it('rejects malformed records without writing', async () => {
    await assert.rejects(store.putRecord(record({ chunkId: 'NOPE' })), { name: 'InvalidInputError' })
    await assert.rejects(store.putRecord(record({ commitment: 'x' })), { name: 'InvalidInputError' })
    await assert.rejects(store.putRecord(record({ size: -1 })), { name: 'InvalidInputError' })
  })

  it('survives reopen and honours abort', async () => {
    const r = record()
    await store.putRecord(r)
    await store.close()
    await assert.rejects(store.getRecord(r.chunkId, r.commitment), { name: 'ClosedError' })
    store = await LevelMetadataStore.open({ location: dir.path })
    assert.deepEqual(await store.getRecord(r.chunkId, r.commitment), r)
    await assert.rejects(store.putRecord(record(), { signal: AbortSignal.abort() }), { name: 'AbortError' })
  })
})
