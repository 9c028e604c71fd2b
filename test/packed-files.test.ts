import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { silentLoggerFactory } from '../src/adapters/logging/stderr-logger.ts'
import { CatalogueService } from '../src/app/owner/catalogue-service.ts'
import { LeaseRenewal } from '../src/app/owner/lease-renewal.ts'
import { OwnerService } from '../src/app/owner/owner-service.ts'
import { PeerSessions } from '../src/app/owner/peer-sessions.ts'
import { readManifest } from '../src/app/owner/fetch-file.ts'
import { contentKey } from '../src/domain/crypto/key-derivation.ts'
import { OWNER_CHUNK_OVERHEAD, OwnerChunkCipher } from '../src/domain/crypto/owner-layer.ts'
import { parseFileId } from '../src/domain/formats/file-id.ts'
import { decodeShareCode } from '../src/domain/formats/share-code.ts'
import { RepairBudget } from '../src/app/owner/repair-budget.ts'
import { RepairService } from '../src/app/owner/repair-service.ts'
import type { CatalogueEntry } from '../src/domain/formats/catalogue.ts'
import { MemoryCache, MemoryFederation } from './helpers/memory-federation.ts'
import { fakePeerId } from './helpers/owner-fixtures.ts'
import { tempDir } from './helpers/temp-dir.ts'

const quiet = (): void => {}
const FILES = 12

/** The one pack the files are in: a put lays a batch's small files in packs (pack-writer.ts). */
function packOf (files: CatalogueEntry[]): string {
  const packs = new Set(files.map((f) => f.chunks?.[0]?.pack?.id))
  assert.equal(packs.size, 1, 'the files are in one pack')
  const [pack] = packs
  assert.ok(pack !== undefined, 'the files are packed')
  return pack
}

/** Holders that keep `id` (in any commitment). */
function holdersOf (federation: MemoryFederation, id: string): string[] {
  return [...federation.nodes].filter(([, node]) => [...node.values()].some((chunks) => chunks.has(id))).map(([peer]) => peer)
}

describe('packed files: put, get, share, renew and rm', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  const federation = new MemoryFederation()
  const deps = { master: randomBytes(32), federation, log: silentLoggerFactory('test') }
  const catalogue = new CatalogueService({ ...deps, cache: new MemoryCache(), replicas: 3 })
  const owner = new OwnerService(deps, catalogue)
  const friendDeps = { master: randomBytes(32), federation, log: silentLoggerFactory('test') }
  const friend = new OwnerService(friendDeps, new CatalogueService({ ...friendDeps, cache: new MemoryCache(), replicas: 3 }))
  const contents = new Map<string, Buffer>()
  let packId: string

  before(async () => {
    dir = await tempDir()
    for (const peer of ['p1', 'p2', 'p3']) federation.addPeer(peer)
    const album = join(dir.path, 'src', 'album')
    await mkdir(album, { recursive: true })
    for (let i = 0; i < FILES; i++) {
      const bytes = randomBytes(50 + i * 911)
      contents.set(`f${i}.txt`, bytes)
      await writeFile(join(album, `f${i}.txt`), bytes)
    }
    await owner.put([album], 3, quiet)
    const files = (await owner.list()).filter((e) => e.kind === 'file')
    assert.equal(files.length, FILES)
    assert.ok(files.every((f) => f.batch !== undefined && f.chunks?.length === 1), 'the small files of a put are batched')
    packId = packOf(files)
    // the pack is stored, the packed chunks alone are not
    assert.equal(holdersOf(federation, packId).length, 3)
    assert.ok(files.every((f) => holdersOf(federation, f.chunks![0]!.id).length === 0))
  })
  after(async () => dir.cleanup())

  const restored = async (out: string): Promise<void> => {
    for (const [name, bytes] of contents) assert.ok((await readFile(join(out, name))).equals(bytes), name)
  }

  it('a get restores every file of a pack byte-identical, reading the pack once', async () => {
    assert.equal((await owner.list()).filter((e) => e.chunks?.[0]?.pack?.id === packId).length, FILES)
    federation.counts.reset()
    await owner.get('album', { cwd: dir.path, output: join(dir.path, 'out') }, quiet)
    await restored(join(dir.path, 'out'))
    assert.equal(federation.counts.gets, 1, 'one read of the pack for all its files')
  })

  it('a holder answering with other bytes for the pack is passed over, and the restore is still exact', async () => {
    const first = (await owner.list()).find((e) => e.kind === 'file')!.chunks![0]!.holders
    for (const peer of first.slice(0, 2)) {
      const chunks = [...federation.nodes.get(peer)!.values()].find((c) => c.has(packId))!
      const forged = Uint8Array.from(chunks.get(packId)!)
      forged[forged.byteLength - 1] = forged[forged.byteLength - 1]! ^ 1
      chunks.set(packId, forged)
    }
    await owner.get('album', { cwd: dir.path, output: join(dir.path, 'out2') }, quiet)
    await restored(join(dir.path, 'out2'))
  })

  it('a share of a packed file takes its chunk out of the pack: the friend receives it, and the pack is rewritten without it', async () => {
    const entry = (await owner.list()).find((e) => e.name === 'album/f3.txt')!
    const before = packId
    const { code } = await owner.share(entry.name)
    const received = await friend.receive(code, { cwd: dir.path, output: join(dir.path, 'gift') }, quiet)
    assert.ok((await readFile(received.path)).equals(contents.get('f3.txt')!))
    const shared = (await owner.list()).find((e) => e.fileId === entry.fileId)!
    assert.equal(shared.chunks![0]!.pack, undefined, 'the shared file is no longer packed')
    assert.notEqual(shared.chunks![0]!.id, entry.chunks![0]!.id, 'sealed again: its copy alone is not the slice in the pack')
    assert.equal(holdersOf(federation, shared.chunks![0]!.id).length, 3, 'its chunk is stored alone on its holders')
    packId = packOf((await owner.list()).filter((e) => e.kind === 'file' && e.fileId !== entry.fileId))
    assert.notEqual(packId, before)
    assert.deepEqual(holdersOf(federation, before), [], 'the old pack is gone')
    assert.equal(holdersOf(federation, packId).length, 3)
    await owner.get('album', { cwd: dir.path, output: join(dir.path, 'out3') }, quiet)
    await restored(join(dir.path, 'out3'))
  })

  it('attack: once the owner revokes a share, the code\'s holder finds its file in no chunk of the batch, whole or inside a pack', async () => {
    const entry = (await owner.list()).find((e) => e.name === 'album/f3.txt')!
    const code = (await owner.share(entry.name)).code
    // what the friend keeps from the code before the revoke: the manifest, with the batch's read secret
    const read = decodeShareCode(code)
    const sessions = new PeerSessions(federation)
    try {
      const manifest = (await readManifest(federation, sessions, silentLoggerFactory('test'), { read }))!
      await owner.unshare(entry.name)
      const cipher = new OwnerChunkCipher(contentKey(read.readRoot), parseFileId(manifest.fileId))
      const sealedLength = manifest.size + OWNER_CHUNK_OVERHEAD
      let tried = 0
      for (const peer of federation.nodes.keys()) {
        for (const id of await sessions.list(peer, BigInt(manifest.dataSecret!))) {
          const bytes = await sessions.get(peer, BigInt(manifest.dataSecret!), id)
          for (let at = 0; at + sealedLength <= bytes.byteLength; at++) {
            tried++
            assert.throws(() => cipher.open(0, true, bytes.subarray(at, at + sealedLength)), `${peer} ${id} at ${at}`)
          }
        }
      }
      assert.ok(tried > 0, 'the batch still holds chunks to search')
    } finally {
      await sessions.close()
    }
  })

  it('a lease round renews the pack for its files, not chunk ids stored nowhere', async () => {
    federation.renewed.clear()
    await new LeaseRenewal(deps, catalogue).renew()
    const renewed = [...federation.renewed.values()].flatMap((set) => [...set].map((record) => record.split(' ')[1]))
    assert.equal(renewed.filter((id) => id === packId).length, 3, 'the pack on each of its holders')
    const packed = (await owner.list()).filter((e) => e.chunks?.[0]?.pack !== undefined)
    assert.ok(packed.every((e) => !renewed.includes(e.chunks![0]!.id)))
  })

  it('rm of some files of a pack rewrites it without them (their bytes are freed now); rm of the last deletes it on every holder', async () => {
    const size = (id: string): number => [...federation.nodes.get(holdersOf(federation, id)[0]!)!.values()].find((c) => c.has(id))!.get(id)!.byteLength
    const before = packId
    const beforeBytes = size(before)
    const gone = ['f0.txt', 'f1.txt'].reduce((n, name) => n + contents.get(name)!.byteLength + OWNER_CHUNK_OVERHEAD, 0)
    await owner.remove('album/f0.txt')
    await owner.remove('album/f1.txt')
    packId = packOf((await owner.list()).filter((e) => e.kind === 'file' && e.chunks?.[0]?.pack !== undefined))
    assert.deepEqual(holdersOf(federation, before), [], 'the old pack is gone')
    assert.equal(holdersOf(federation, packId).length, 3, 'the rewritten pack is on the same holders')
    assert.equal(size(packId), beforeBytes - gone, 'the removed files\' slices are freed')
    contents.delete('f0.txt')
    contents.delete('f1.txt')
    await owner.get('album', { cwd: dir.path, output: join(dir.path, 'out4') }, quiet)
    await restored(join(dir.path, 'out4'))
    // the batch's read commitment, and the delete commitment its records are under
    const batchRecords = (): string[] => [...federation.nodes].flatMap(([peer, node]) => [...node].flatMap(([c, chunks]) =>
      [...chunks.keys()].filter((id) => federation.deleteCommitments.get(peer)?.get(c)?.get(id) === batchD).map((id) => `${peer} ${id}`)))
    const holder = holdersOf(federation, packId)[0]!
    const batchC = [...federation.nodes.get(holder)!].find(([, chunks]) => chunks.has(packId))![0]
    const batchD = federation.deleteCommitments.get(holder)!.get(batchC)!.get(packId)!
    assert.ok(batchRecords().length > 0)
    await owner.remove('album')
    assert.deepEqual(holdersOf(federation, packId), [], 'the pack went with its last file')
    assert.deepEqual(batchRecords(), [], 'nothing stored under the batch is left')
  })

  it('a pack no holder has fails the get of its files with FileUnavailableError, and writes none of them', async () => {
    const again = join(dir.path, 'src', 'again')
    await mkdir(again, { recursive: true })
    for (let i = 0; i < 3; i++) await writeFile(join(again, `g${i}.txt`), randomBytes(100))
    await owner.put([again], 3, quiet)
    const lost = packOf((await owner.list()).filter((e) => e.kind === 'file' && e.name.startsWith('again/')))
    for (const node of federation.nodes.values()) for (const chunks of node.values()) chunks.delete(lost)
    await assert.rejects(owner.get('again', { cwd: dir.path, output: join(dir.path, 'lost') }, quiet), { name: 'FileUnavailableError' })
    await assert.rejects(readFile(join(dir.path, 'lost', 'g0.txt')), { code: 'ENOENT' })
  })
})

describe('packed files: many near the largest packed size', () => {
  it('files added while full packs wait to be sent never overfill a pack, and a failed pack fails the put without taking the process down', async () => {
    const dir = await tempDir()
    try {
      const federation = new MemoryFederation()
      for (const peer of ['p1', 'p2', 'p3']) federation.addPeer(peer)
      const deps = { master: randomBytes(32), federation, log: silentLoggerFactory('test') }
      const owner = new OwnerService(deps, new CatalogueService({ ...deps, cache: new MemoryCache(), replicas: 3 }))
      const big = join(dir.path, 'big')
      await mkdir(big)
      const contents = Array.from({ length: 48 }, (_, i) => randomBytes(150 * 1024 + i * 1000))
      for (const [i, bytes] of contents.entries()) await writeFile(join(big, `b${i}`), bytes)
      await owner.put([big], 3, quiet)
      const files = (await owner.list()).filter((e) => e.kind === 'file')
      const packs = new Set(files.map((e) => e.chunks![0]!.pack?.id ?? e.chunks![0]!.id))
      assert.ok(packs.size >= 8 && packs.size < files.length, `${packs.size} packs for ${files.length} files`)
      await owner.get('big', { cwd: dir.path, output: join(dir.path, 'out') }, quiet)
      for (const [i, bytes] of contents.entries()) assert.ok((await readFile(join(dir.path, 'out', `b${i}`))).equals(bytes))

      // every holder refuses: the put fails typed, and the process (this test) lives on
      const again = join(dir.path, 'again')
      await mkdir(again)
      for (let i = 0; i < 20; i++) await writeFile(join(again, `a${i}`), randomBytes(100 * 1024))
      federation.reachable.clear()
      await assert.rejects(owner.put([again], 3, quiet))
    } finally {
      await dir.cleanup()
    }
  })
})

describe('packed files: repair by the pack', () => {
  it('a pack on a holder away past repairAfter is copied once to a new holder, every file of it names the new holder, and nothing is distrusted', async () => {
    const dir = await tempDir()
    try {
      const federation = new MemoryFederation()
      for (let i = 0; i < 3; i++) federation.addPeer(fakePeerId())
      const deps = { master: randomBytes(32), federation, log: silentLoggerFactory('test') }
      const catalogue = new CatalogueService({ ...deps, cache: new MemoryCache(), replicas: 3 })
      const owner = new OwnerService(deps, catalogue)
      const clock = { now: 1_000_000 }
      const repair = new RepairService(deps, catalogue, { repairAfterMs: 60_000, auditSample: 2, budget: new RepairBudget(1e12), concurrency: 2 }, () => clock.now)
      const album = join(dir.path, 'album')
      await mkdir(album)
      const contents = Array.from({ length: 6 }, (_, i) => randomBytes(300 + i))
      for (const [i, bytes] of contents.entries()) await writeFile(join(album, `f${i}`), bytes)
      await owner.put([album], 3, quiet)
      // two more to repair onto
      for (let i = 0; i < 2; i++) federation.addPeer(fakePeerId())
      const packId = packOf((await owner.list()).filter((e) => e.kind === 'file'))
      const [first] = await repair.check(undefined, { repair: false })
      assert.equal(first!.failed, 0, 'a pack is audited by its own id')
      const holders = holdersOf(federation, packId)
      assert.equal(holders.length, 3)
      federation.reachable.delete(holders[0]!)
      clock.now += 61_000
      await repair.check(undefined, { repair: true })
      clock.now += 61_000
      const checks = await repair.check(undefined, { repair: true })
      assert.equal(checks.length, 1, 'one check for the pack, not one per file')
      const files = (await owner.list()).filter((e) => e.kind === 'file')
      const now = files[0]!.chunks![0]!.holders
      assert.equal(now.length, 3)
      assert.ok(!now.includes(holders[0]!), 'the away holder is replaced')
      assert.ok(files.every((e) => e.chunks![0]!.pack?.id === packId && e.chunks![0]!.holders.join() === now.join()), 'every file of the pack names its new holders')
      assert.ok(holdersOf(federation, packId).filter((p) => !holders.includes(p)).length === 1, 'one new copy of the pack')
      assert.deepEqual(repair.queue().distrusted, [])
      // the copy reads back without the away holder
      federation.reachable.delete(holders[1]!)
      await owner.get('album', { cwd: dir.path, output: join(dir.path, 'out') }, quiet)
      for (const [i, bytes] of contents.entries()) assert.ok((await readFile(join(dir.path, 'out', `f${i}`))).equals(bytes))
    } finally {
      await dir.cleanup()
    }
  })
})
