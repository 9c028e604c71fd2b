import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { afterEach, beforeEach, describe, it } from 'node:test'
import type { CachedCatalogue, CatalogueCache } from '../../src/ports/catalogue-cache.ts'
import { tempDir } from '../helpers/temp-dir.ts'
import { rejectsWith } from '../helpers/rejects-with.ts'
import { AbortError } from '../../src/errors.ts'

export interface CatalogueCacheHarness {
  /** Opens the adapter in `dir`; opening the same dir again must see a durable value. */
  open (dir: string): Promise<CatalogueCache>
  durable: boolean
}

function sample (pieces = 3): CachedCatalogue {
  const ids = Array.from({ length: pieces }, () => `bafkrei${randomBytes(8).toString('hex')}`)
  return {
    pieces: Array.from({ length: pieces }, (_, i) => new Uint8Array(randomBytes(100 + i))),
    holders: { peerA: ids, peerB: ids.slice(0, 1) }
  }
}

/** The CatalogueCache contract (src/ports/catalogue-cache.ts) as tests; a fresh cache per test. */
export function catalogueCacheSuite (name: string, harness: CatalogueCacheHarness): void {
  describe(`CatalogueCache conformance: ${name}`, () => {
    let dir: Awaited<ReturnType<typeof tempDir>>
    let cache: CatalogueCache

    beforeEach(async () => {
      dir = await tempDir()
      cache = await harness.open(dir.path)
    })
    afterEach(async () => dir.cleanup())

    it('reads undefined when nothing was written', async () => {
      assert.equal(await cache.read(), undefined)
    })

    it('reads back what was written', async () => {
      const value = sample()
      await cache.write(value)
      assert.deepEqual(await cache.read(), value)
    })

    it('keeps empty pieces and holders', async () => {
      const value = { pieces: [new Uint8Array(0)], holders: {} }
      await cache.write(value)
      assert.deepEqual(await cache.read(), value)
    })

    it('a write replaces the whole value: nothing of the old one is merged in', async () => {
      await cache.write(sample(4))
      const second = { pieces: [new Uint8Array([1, 2, 3])], holders: { peerC: ['bafkreione'] } }
      await cache.write(second)
      assert.deepEqual(await cache.read(), second)
    })

    it('copies both ways: later changes to written or read objects change nothing', async () => {
      const value = sample()
      const expected = structuredClone(value)
      await cache.write(value)
      value.pieces[0]![0] = value.pieces[0]![0]! ^ 0xff
      value.holders.peerA!.push('bafkreiextra')
      value.holders.intruder = []
      const read = (await cache.read())!
      assert.deepEqual(read, expected)
      read.pieces[1]![0] = read.pieces[1]![0]! ^ 0xff
      read.holders.peerB = []
      assert.deepEqual(await cache.read(), expected)
    })

    it('concurrent writes leave one of them whole', async () => {
      const values = Array.from({ length: 5 }, () => sample(2))
      await Promise.all(values.map(async (v) => cache.write(v)))
      const read = await cache.read()
      assert.ok(values.some((v) => JSON.stringify(v) === JSON.stringify(read)), 'the value read is one of those written, not a mix')
    })

    it('an aborted signal rejects with AbortError and writes nothing', async () => {
      const kept = sample()
      await cache.write(kept)
      const signal = AbortSignal.abort()
      await rejectsWith(cache.write(sample(), { signal }), AbortError)
      await rejectsWith(cache.read({ signal }), AbortError)
      assert.deepEqual(await cache.read(), kept)
    })

    it('a durable cache keeps its value across a reopen', async (t) => {
      if (!harness.durable) return t.skip('not durable')
      const value = sample()
      await cache.write(value)
      const reopened = await harness.open(dir.path)
      assert.deepEqual(await reopened.read(), value)
    })
  })
}
