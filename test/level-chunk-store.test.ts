import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { Level } from 'level'
import { LevelChunkStore } from '../src/adapters/chunk-store/level-chunk-store.ts'
import { newId } from './conformance/chunk-store.suite.ts'
import { tempDir } from './helpers/temp-dir.ts'

describe('LevelChunkStore', () => {
  it('counts the values of a database written before the count was kept, once', async () => {
    const dir = await tempDir()
    try {
      let store = await LevelChunkStore.open({ location: dir.path })
      for (let i = 0; i < 3; i++) await store.put(newId(), randomBytes(10))
      await store.close()
      const raw = new Level<string, Uint8Array>(dir.path, { valueEncoding: 'view' })
      await raw.del('m!count')
      await raw.close()
      store = await LevelChunkStore.open({ location: dir.path })
      assert.equal(await store.count(), 3)
      await store.put(newId(), randomBytes(10))
      assert.equal(await store.count(), 4)
      assert.equal(await store.usedBytes(), 40)
      await store.close()
    } finally {
      await dir.cleanup()
    }
  })
})
