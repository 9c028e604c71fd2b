import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { DirectorySyncs } from '../src/adapters/chunk-store/directory-syncs.ts'
import { FsChunkStore } from '../src/adapters/chunk-store/fs-chunk-store.ts'
import { newId } from './conformance/chunk-store.suite.ts'
import { tempDir } from './helpers/temp-dir.ts'

// What the conformance suite cannot say about the filesystem adapter: its medium under attack
describe('FsChunkStore on a medium changed underneath', () => {
  it('makes a shard directory removed under it again at the next write into it', async () => {
    const dir = await tempDir()
    const store = await FsChunkStore.open({ root: dir.path })
    try {
      const lost = newId()
      await store.put(lost, randomBytes(10))
      const shard = join(dir.path, 'chunks', lost.slice(-3, -1))
      await rm(shard, { recursive: true })
      // an id of the same shard (same next-to-last two characters)
      const next = newId().slice(0, -3) + lost.slice(-3)
      const bytes = randomBytes(20)
      await store.put(next, bytes)
      assert.ok(Buffer.from(await store.get(next)).equals(bytes))
      assert.equal(await store.has(lost), false)
      assert.deepEqual(await readdir(shard), [next])
    } finally {
      await store.close()
      await dir.cleanup()
    }
  })

  it('refuses a write whose temp directory was removed, with StorageError, and holds nothing', async () => {
    const dir = await tempDir()
    const store = await FsChunkStore.open({ root: dir.path })
    try {
      await rm(join(dir.path, 'tmp'), { recursive: true })
      const id = newId()
      await assert.rejects(store.put(id, randomBytes(10)), { name: 'StorageError' })
      assert.equal(await store.has(id), false)
      assert.equal(await store.count(), 0)
    } finally {
      await store.close()
      await dir.cleanup()
    }
  })
})

describe('DirectorySyncs', () => {
  it('never lets a caller count on a sync that began before it came, and shares the next one', async () => {
    const started: Array<() => void> = []
    const syncs = new DirectorySyncs(async () => new Promise<void>((resolve) => started.push(resolve)))
    const settled: number[] = []
    const first = syncs.sync('/d').then(() => settled.push(0))
    const later = Array.from({ length: 9 }, async (_, i) => syncs.sync('/d').then(() => settled.push(i + 1)))
    assert.equal(started.length, 1)
    started[0]!()
    await first
    await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual(settled, [0], 'the callers that came during the first sync wait for a second')
    assert.equal(started.length, 2, 'one more sync serves all nine')
    started[1]!()
    await Promise.all(later)
    assert.equal(settled.length, 10)
    // another directory has its own
    const other = syncs.sync('/e')
    assert.equal(started.length, 3)
    started[2]!()
    await other
  })

  it('hands a failed sync to every caller that shared it', async () => {
    const syncs = new DirectorySyncs(async () => { throw new Error('EIO') })
    const results = await Promise.allSettled([syncs.sync('/d'), syncs.sync('/d'), syncs.sync('/d')])
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected', 'rejected'])
  })
})
