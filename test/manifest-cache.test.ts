import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { Level } from 'level'
import { LevelPieceCache } from '../src/adapters/data-dir/level-piece-cache.ts'
import { ReedSolomonCodec } from '../src/adapters/erasure/reed-solomon-codec.ts'
import { silentLoggerFactory } from '../src/adapters/logging/stderr-logger.ts'
import { CatalogueService } from '../src/app/owner/catalogue-service.ts'
import { LeaseRenewal } from '../src/app/owner/lease-renewal.ts'
import { OwnerService } from '../src/app/owner/owner-service.ts'
import { ClosedError } from '../src/errors.ts'
import { MemoryCache, MemoryFederation } from './helpers/memory-federation.ts'
import { fakePeerId } from './helpers/owner-fixtures.ts'
import { rejectsWith } from './helpers/rejects-with.ts'
import { tempDir } from './helpers/temp-dir.ts'

const quiet = (): void => {}

describe('the manifest cache (the data directory\'s manifests/)', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  before(async () => { dir = await tempDir() })
  after(async () => { await dir?.cleanup() })

  it('keeps pieces across a reopen, returns only those it has, and retain drops the rest', async () => {
    const location = join(dir.path, 'adapter')
    const cache = await LevelPieceCache.open(location)
    const a = randomBytes(300)
    const b = randomBytes(5)
    await cache.put([['a', a], ['b', b]])
    a[0] = a[0]! ^ 1 // the cache copied it
    await cache.close()
    const reopened = await LevelPieceCache.open(location)
    const got = await reopened.get(['a', 'b', 'c'])
    assert.deepEqual([...got.keys()].sort(), ['a', 'b'])
    assert.equal(got.get('a')![0], a[0]! ^ 1)
    assert.deepEqual(got.get('b'), new Uint8Array(b))
    assert.equal(await reopened.retain(new Set(['b', 'z'])), 1)
    assert.deepEqual([...(await reopened.get(['a', 'b'])).keys()], ['b'])
    assert.equal(await reopened.retain(new Set(['b'])), 0)
    await reopened.close()
    await reopened.close()
    await rejectsWith(reopened.get(['b']), ClosedError)
  })

  /** An owner whose files each have a manifest of their own (erasure-coded), with a cache in `location`. */
  async function owner (location: string, files: number): Promise<{ federation: MemoryFederation, deps: any, catalogue: CatalogueService, owner: OwnerService, cache: LevelPieceCache }> {
    const federation = new MemoryFederation()
    for (let i = 0; i < 5; i++) federation.addPeer(fakePeerId())
    const cache = await LevelPieceCache.open(location)
    const deps = { master: randomBytes(32), federation, log: silentLoggerFactory('test'), codec: new ReedSolomonCodec(), manifestCache: cache }
    const catalogue = new CatalogueService({ ...deps, cache: new MemoryCache(), replicas: 3 })
    const service = new OwnerService(deps, catalogue)
    for (let i = 0; i < files; i++) {
      const path = join(dir.path, `${location.split('/').pop()}-${i}.bin`)
      await writeFile(path, randomBytes(4000 + i))
      await service.put([path], { kind: 'erasure', scheme: { data: 2, parity: 1 } }, quiet)
    }
    return { federation, deps, catalogue, owner: service, cache }
  }

  const manifestReads = (federation: MemoryFederation): number => [...federation.counts.sessionOpens].filter(([key]) => key.includes(' read ')).reduce((n, [, c]) => n + c, 0)

  it('a restarted owner\'s first lease round reads no manifest from a holder (one proof per file without the cache), and its get proves for the data only', async () => {
    const FILES = 6
    const o = await owner(join(dir.path, 'restart'), FILES)
    try {
      o.federation.counts.reset()
      const first = await new LeaseRenewal(o.deps, o.catalogue).renew()
      assert.equal(first.failed, 0)
      assert.equal(manifestReads(o.federation), 0, 'the put cached the manifests it stored')

      // emptied, the cache fills from the round's reads
      await o.cache.retain(new Set())
      o.federation.counts.reset()
      assert.deepEqual(await new LeaseRenewal(o.deps, o.catalogue).renew(), first)
      assert.ok(manifestReads(o.federation) >= FILES, `each manifest read once (${manifestReads(o.federation)})`)

      // a restart: new services, the same data directory
      o.federation.counts.reset()
      assert.deepEqual(await new LeaseRenewal(o.deps, o.catalogue).renew(), first)
      assert.equal(manifestReads(o.federation), 0, 'every manifest came from the cache')

      // without the cache, the same round proves once per file again
      o.federation.counts.reset()
      const { manifestCache: _, ...uncached } = o.deps
      assert.deepEqual(await new LeaseRenewal(uncached, o.catalogue).renew(), first)
      assert.ok(manifestReads(o.federation) >= FILES)

      o.federation.counts.reset()
      const name = (await o.catalogue.load()).entries.find((e) => e.kind === 'file')!.name
      await o.owner.get(name, { cwd: dir.path, output: join(dir.path, 'restored.bin') }, quiet)
      assert.deepEqual(await readFile(join(dir.path, 'restored.bin')), await readFile(join(dir.path, name.split('/').pop()!)))
      const read = [...o.federation.counts.sessionOpens.keys()].filter((key) => key.includes(' read '))
      assert.ok(read.length >= 2, 'the shards were read')
      assert.equal(new Set(read.map((key) => key.split(' ')[2])).size, 1, 'under one commitment: the data\'s, not the manifest\'s')
    } finally {
      await o.cache.close()
    }
  })

  it('a damaged or planted cache entry is a miss: the manifest is read from its holders; removed files\' pieces are dropped at the next round', async () => {
    const location = join(dir.path, 'damaged')
    const o = await owner(location, 3)
    try {
      const first = await new LeaseRenewal(o.deps, o.catalogue).renew()
      const entries = (await o.catalogue.load()).entries.filter((e) => e.kind === 'file')
      const ids = entries.flatMap((e) => e.manifest!.map((ref) => ref.id))
      assert.equal((await o.cache.get(ids)).size, ids.length)
      await o.cache.close()
      // bytes changed on disk under one file's ids, and another's replaced by a piece of the first
      const db = new Level<string, string>(location)
      const [a, b] = [entries[0]!.manifest!, entries[1]!.manifest!]
      const flipped = Buffer.from((await db.get(a[0]!.id))!, 'base64')
      flipped[10] = flipped[10]! ^ 0xff
      await db.put(a[0]!.id, flipped.toString('base64'))
      for (const ref of b) await db.put(ref.id, (await db.get(a[0]!.id))!)
      await db.close()
      o.deps.manifestCache = o.cache = await LevelPieceCache.open(location)

      o.federation.counts.reset()
      assert.deepEqual(await new LeaseRenewal(o.deps, o.catalogue).renew(), first, 'every record still renewed')
      assert.equal(manifestReads(o.federation), 2, 'the two damaged files\' manifests were read from a holder, the third came from the cache')

      await o.owner.remove(entries[2]!.name)
      await new LeaseRenewal(o.deps, o.catalogue).renew()
      assert.equal((await o.cache.get(entries[2]!.manifest!.map((ref) => ref.id))).size, 0, 'the removed file\'s pieces are gone')
      assert.equal((await o.cache.get([...a, ...b].map((ref) => ref.id))).size, a.length + b.length, 'the others\' pieces, read again, are kept')
    } finally {
      await o.cache.close()
    }
  })
})
