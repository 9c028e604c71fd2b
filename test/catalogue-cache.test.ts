import assert from 'node:assert/strict'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { FileCatalogueCache } from '../src/adapters/data-dir/file-catalogue-cache.ts'
import { DataDirError } from '../src/errors.ts'
import { catalogueCacheSuite } from './conformance/catalogue-cache.suite.ts'
import { rejectsWith } from './helpers/rejects-with.ts'
import { MemoryCache } from './helpers/memory-federation.ts'
import { tempDir } from './helpers/temp-dir.ts'

catalogueCacheSuite('MemoryCache', { durable: false, open: async () => new MemoryCache() })
catalogueCacheSuite('FileCatalogueCache', { durable: true, open: async (dir) => new FileCatalogueCache(join(dir, 'catalogue.json')) })

describe('FileCatalogueCache on a damaged or unusable medium', () => {
  it('a damaged file reads as no cache', async () => {
    const dir = await tempDir()
    try {
      for (const text of ['{not json', '{"pieces": 3, "holders": {}}', 'null', '']) {
        await writeFile(join(dir.path, 'catalogue.json'), text)
        assert.equal(await new FileCatalogueCache(join(dir.path, 'catalogue.json')).read(), undefined, text)
      }
    } finally {
      await dir.cleanup()
    }
  })

  it('a path it cannot read or write is DataDirError, with the cause kept', async () => {
    const dir = await tempDir()
    try {
      const path = join(dir.path, 'catalogue.json')
      await mkdir(path) // a directory where the file should be
      const cache = new FileCatalogueCache(path)
      await rejectsWith(cache.read(), DataDirError)
      await rejectsWith(cache.write({ pieces: [], holders: {} }), DataDirError)
      const err = await new FileCatalogueCache(join(dir.path, 'missing', 'catalogue.json')).write({ pieces: [], holders: {} }).catch((e: unknown) => e)
      assert.ok(err instanceof DataDirError)
      assert.equal(((err as Error).cause as { code?: string }).code, 'ENOENT')
    } finally {
      await dir.cleanup()
    }
  })
})
