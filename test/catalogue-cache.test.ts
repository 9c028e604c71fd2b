import assert from 'node:assert/strict'
import { appendFile, chmod, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, it } from 'node:test'
import { FileCatalogueCache } from '../src/adapters/data-dir/file-catalogue-cache.ts'
import type { CachedCatalogue } from '../src/ports/catalogue-cache.ts'
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

describe('FileCatalogueCache: a change that adds pieces is appended', () => {
  const piece = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill)
  const holders = (ids: string[]): Record<string, string[]> => ({ peerA: ids, peerB: ids.slice(0, 1) })
  let dir: Awaited<ReturnType<typeof tempDir>>
  beforeEach(async () => { dir = await tempDir() })
  afterEach(async () => { await dir.cleanup() })

  it('appends what a write adds, reads the whole value back, in a process that reopens it too', async () => {
    const path = join(dir.path, 'catalogue.json')
    const cache = new FileCatalogueCache(path)
    const base = [piece(300_000, 1), piece(200, 2)]
    await cache.write({ pieces: base, holders: holders(['b1', 'b2']) })
    const file = await stat(path)
    let pieces = base
    for (let i = 0; i < 5; i++) {
      pieces = [...pieces, piece(100, 10 + i)]
      await cache.write({ pieces, holders: holders(['b1', 'b2', `d${i}`]) })
    }
    // five small lines after the base, not five rewrites of it (a rewrite renames a new file in)
    assert.equal((await stat(path)).ino, file.ino)
    assert.equal((await readFile(path, 'utf8')).split('\n').length, 7)
    const expected = { pieces, holders: holders(['b1', 'b2', 'd4']) }
    assert.deepEqual(await cache.read(), expected)
    assert.deepEqual(await new FileCatalogueCache(path).read(), expected)
    // only the holders change: still an append
    await cache.write({ pieces, holders: { peerC: ['x'] } })
    assert.deepEqual(await cache.read(), { pieces, holders: { peerC: ['x'] } })
  })

  it('a new base (pieces that do not extend the last write) rewrites the file whole', async () => {
    const path = join(dir.path, 'catalogue.json')
    const cache = new FileCatalogueCache(path)
    await cache.write({ pieces: [piece(5000, 1), piece(10, 2)], holders: holders(['a']) })
    await cache.write({ pieces: [piece(5000, 1), piece(10, 2), piece(10, 3)], holders: holders(['a', 'b']) })
    const next = { pieces: [piece(700, 9)], holders: holders(['n']) }
    await cache.write(next)
    assert.deepEqual(await cache.read(), next)
    assert.equal((await readFile(path, 'utf8')).split('\n').length, 2, 'one line and its newline')
  })

  it('an append cut by a crash (no newline) reads as the value before it; the next process rewrites the file whole', async () => {
    const path = join(dir.path, 'catalogue.json')
    const before = { pieces: [piece(1000, 1)], holders: holders(['a']) }
    await new FileCatalogueCache(path).write(before)
    const cut = JSON.stringify({ append: [Buffer.from(piece(50, 7)).toString('base64')], holders: holders(['a', 'b']) })
    await appendFile(path, cut.slice(0, cut.length - 9))
    const reopened = new FileCatalogueCache(path)
    assert.deepEqual(await reopened.read(), before)
    const after = { pieces: [piece(1000, 1), piece(60, 8)], holders: holders(['a', 'c']) }
    await reopened.write(after)
    assert.deepEqual(await new FileCatalogueCache(path).read(), after)
  })

  it('reads the cache older nodes wrote (one JSON object, no newline); a damaged line in the middle reads as no cache', async () => {
    const path = join(dir.path, 'catalogue.json')
    const value = { pieces: [piece(40, 4), piece(0, 0)], holders: holders(['a']) }
    await writeFile(path, JSON.stringify({ pieces: value.pieces.map((p) => Buffer.from(p).toString('base64')), holders: value.holders }))
    assert.deepEqual(await new FileCatalogueCache(path).read(), value)
    await writeFile(path, `${JSON.stringify({ pieces: [], holders: {} })}\n{"append": 3, "holders": {}}\n${JSON.stringify({ append: [], holders: {} })}\n`)
    assert.equal(await new FileCatalogueCache(path).read(), undefined)
  })

  it('writes made at once land one after another, the last one read back', async () => {
    const cache = new FileCatalogueCache(join(dir.path, 'catalogue.json'))
    const values = Array.from({ length: 8 }, (_, i) => ({ pieces: Array.from({ length: i + 1 }, (_, j) => piece(64, j)), holders: holders([`g${i}`]) }))
    await Promise.all(values.map(async (v) => cache.write(v)))
    assert.deepEqual(await cache.read(), values.at(-1))
  })

  it('a file deleted, replaced or opened up since the last write is rewritten whole, 0600, not appended to', async () => {
    const path = join(dir.path, 'catalogue.json')
    const cache = new FileCatalogueCache(path)
    let pieces = [piece(2000, 1)]
    const next = async (): Promise<CachedCatalogue> => {
      pieces = [...pieces, piece(30, pieces.length)]
      const value = { pieces, holders: holders([`g${pieces.length}`]) }
      await cache.write(value)
      return value
    }
    await next()
    await rm(path)
    const deleted = await next()
    assert.deepEqual(await new FileCatalogueCache(path).read(), deleted, 'after a delete')
    await writeFile(path, JSON.stringify({ pieces: [], holders: {} }) + '\n')
    const replaced = await next()
    assert.deepEqual(await new FileCatalogueCache(path).read(), replaced, 'after a replace')
    await chmod(path, 0o644)
    const value = await next()
    assert.equal((await stat(path)).mode & 0o777, 0o600)
    assert.deepEqual(await new FileCatalogueCache(path).read(), value, 'after a chmod')
  })

  it('attack: a holder id a peer chose, with newlines and quotes, cannot split or forge a line', async () => {
    const path = join(dir.path, 'catalogue.json')
    const cache = new FileCatalogueCache(path)
    const forged = `peer\n{"append":[],"holders":{}}\n"x`
    await cache.write({ pieces: [piece(100, 1)], holders: { [forged]: ['a\nb'] } })
    const value = { pieces: [piece(100, 1), piece(10, 2)], holders: { [forged]: ['a\nb', '"\n'] } }
    await cache.write(value)
    assert.equal((await readFile(path, 'utf8')).split('\n').length, 3, 'two lines: the base and one append')
    assert.deepEqual(await new FileCatalogueCache(path).read(), value)
  })
})
