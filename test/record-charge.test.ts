import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { FsChunkStore } from '../src/adapters/chunk-store/fs-chunk-store.ts'
import { AtRestEncryptedChunkStore } from '../src/adapters/chunk-store/at-rest-encrypted-chunk-store.ts'
import { LevelMetadataStore } from '../src/adapters/metadata-store/level-metadata-store.ts'
import { StorageService } from '../src/app/storage-service.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { RECORD_MIN_CHARGE, recordCharge } from '../src/domain/protocol/record-charge.ts'
import { tempDir } from './helpers/temp-dir.ts'

/** Bytes the files under `root` take on disk (allocated blocks, as du counts them). */
async function diskBytes (root: string): Promise<number> {
  let total = 0
  for (const entry of await readdir(root, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).blocks * 512
  }
  return total
}

/**
 * The tiny-record attack of the hostile-federation issue: charged by length, 13,408
 * four-byte chunks cost their sender 53,632 bytes of quota and the node 58.6 MB of
 * disk, and zero-byte ones cost nothing. Charged per disk block and record, a peer
 * cannot make the node spend more disk than its quota, nor keep more records than its
 * quota over the minimum charge.
 */
describe('a peer storing tiny and empty chunks pays for the disk they take', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  let chunks: FsChunkStore
  let metadata: LevelMetadataStore
  let storage: StorageService
  const quota = 200 * RECORD_MIN_CHARGE

  before(async () => {
    dir = await tempDir()
    chunks = await FsChunkStore.open({ root: join(dir.path, 'chunks') })
    metadata = await LevelMetadataStore.open({ location: join(dir.path, 'metadata') })
    const chunkStore = new AtRestEncryptedChunkStore({ inner: chunks, key: randomBytes(32) })
    storage = new StorageService({ chunkStore, metadata, capacity: 1e12, allowanceOf: async () => quota, maxChunkBytes: 2 ** 20 + 1024 })
  })
  after(async () => {
    await metadata.close()
    await chunks.close?.()
    await dir.cleanup()
  })

  it('stores until refused: at most quota / minimum charge records, and no more disk for chunks than the quota', async () => {
    assert.equal(recordCharge(0), RECORD_MIN_CHARGE)
    assert.equal(recordCharge(4), RECORD_MIN_CHARGE)
    assert.equal(recordCharge(4097), 2 * 4096 + recordCharge(0) - 4096)
    let stored = 0
    let refused: Error | undefined
    for (let i = 0; i < 1000 && refused === undefined; i++) {
      const data = i % 2 === 0 ? new Uint8Array(0) : randomBytes(4)
      try {
        await storage.store({ chunkId: chunkIdOf(data), commitment: String(1000 + i), deleteCommitment: String(1000 + i), data, from: 'sybil' })
        stored++
      } catch (err) {
        refused = err as Error
      }
    }
    assert.equal(refused?.name, 'QuotaExceededError')
    assert.equal(stored, 200, 'records are bounded by quota / minimum charge')
    assert.equal(await metadata.bytesStoredBy('sybil'), 200 * RECORD_MIN_CHARGE)
    const disk = await diskBytes(join(dir.path, 'chunks'))
    assert.ok(disk <= quota, `the chunks take ${disk} bytes of disk for a quota of ${quota}`)
  })
})
