import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { MemoryChunkStore } from '../src/adapters/chunk-store/memory-chunk-store.ts'
import { LevelMetadataStore } from '../src/adapters/metadata-store/level-metadata-store.ts'
import { StorageService } from '../src/app/storage-service.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { tempDir } from './helpers/temp-dir.ts'

describe('StorageService', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  let metadata: LevelMetadataStore
  let chunkStore: MemoryChunkStore
  let storage: StorageService

  before(async () => {
    dir = await tempDir()
    metadata = await LevelMetadataStore.open({ location: join(dir.path, 'metadata') })
    chunkStore = new MemoryChunkStore()
    storage = new StorageService({ chunkStore, metadata, capacity: 1e9, peerQuota: 1e9, maxChunkBytes: 2 ** 20 + 1024 })
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
      await storage.store({ chunkId: chunkIdOf(data), commitment: '77', data, from: 'peerA' })
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
    await storage.store({ chunkId: chunkIdOf(kept), commitment: '5', data: kept, from: 'peerA' })
    const orphan = randomBytes(100)
    await chunkStore.put(chunkIdOf(orphan), orphan) // as if a crash came before its record
    assert.equal(await storage.collectOrphans(), 1)
    assert.equal(await chunkStore.has(chunkIdOf(orphan)), false)
    assert.equal(await chunkStore.has(chunkIdOf(kept)), true)
    assert.equal(await storage.collectOrphans(), 0)
  })
})
