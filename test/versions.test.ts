import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { silentLoggerFactory } from '../src/adapters/logging/stderr-logger.ts'
import { CatalogueService } from '../src/app/owner/catalogue-service.ts'
import { OwnerService } from '../src/app/owner/owner-service.ts'
import { MemoryCache, MemoryFederation } from './helpers/memory-federation.ts'
import { tempDir } from './helpers/temp-dir.ts'

const quiet = (): void => {}

/** Every record held by every storage node, by chunk id. */
function held (federation: MemoryFederation): Set<string> {
  const ids = new Set<string>()
  for (const node of federation.nodes.values()) for (const records of node.values()) for (const id of records.keys()) ids.add(id)
  return ids
}

/**
 * A put of a name that exists makes its next version; unchanged files are kept, not sent
 * again; older versions restore with `version`; forget frees what no kept version holds.
 */
describe('versions of a tree', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  const federation = new MemoryFederation()
  let owner: OwnerService
  let album = ''
  const photo = randomBytes(1024 * 1024 + 11)
  const when = new Date('2024-06-01T12:00:00Z')

  before(async () => {
    dir = await tempDir()
    for (const peer of ['p1', 'p2', 'p3']) federation.addPeer(peer)
    const deps = { master: randomBytes(32), federation, log: silentLoggerFactory('test') }
    owner = new OwnerService(deps, new CatalogueService({ ...deps, cache: new MemoryCache(), replicas: 2 }))
    album = join(dir.path, 'src', 'album')
    await mkdir(join(album, 'sub'), { recursive: true })
    await writeFile(join(album, 'photo.jpg'), photo)
    await writeFile(join(album, 'sub', 'note.txt'), 'first')
    for (const f of ['photo.jpg', 'sub/note.txt']) await utimes(join(album, f), when, when)
    await owner.put([album], 2, quiet)
  })
  after(async () => { await dir.cleanup() })

  it('a re-put with one changed file makes version 2 and sends only that file', async () => {
    await new Promise((resolve) => setTimeout(resolve, 5)) // a later storedAt than version 1's
    await writeFile(join(album, 'sub', 'note.txt'), 'second')
    await utimes(join(album, 'sub', 'note.txt'), when, new Date(when.getTime() + 60_000))
    const before = held(federation)
    let sent = 0
    const [outcome] = await owner.put([album], 2, (p) => { sent = p.done })
    assert.equal(outcome!.unchanged, 1)
    assert.equal(outcome!.files, 2)
    const added = [...held(federation)].filter((id) => !before.has(id))
    // the note's one chunk and one manifest piece, and the catalogue's new generation: no chunk of the photo
    assert.ok(added.length <= 4, `${added.length} new records`)
    assert.ok(sent >= photo.length, 'progress counts the kept file as done')
    const versions = await owner.versions('album')
    assert.deepEqual(versions.map((v) => v.version), [1, 2])
    assert.ok(versions.every((v) => typeof v.storedAt === 'number'))
    const photos = versions.map((v) => v.entries.find((e) => e.name === 'album/photo.jpg')!.fileId)
    assert.equal(photos[0], photos[1], 'one stored photo in both versions')
    assert.equal((await owner.list()).filter((e) => e.name === 'album').length, 2)
  })

  it('get gives the newest; version 1 restores the old content; a path is looked up in its version', async () => {
    await owner.get('album', { cwd: dir.path, output: join(dir.path, 'now') }, quiet)
    assert.equal(await readFile(join(dir.path, 'now', 'sub', 'note.txt'), 'utf8'), 'second')
    await owner.get('album', { cwd: dir.path, output: join(dir.path, 'then'), version: 1 }, quiet)
    assert.equal(await readFile(join(dir.path, 'then', 'sub', 'note.txt'), 'utf8'), 'first')
    assert.ok((await readFile(join(dir.path, 'then', 'photo.jpg'))).equals(photo))
    await owner.get('album/sub/note.txt', { cwd: dir.path, output: join(dir.path, 'old-note'), version: 1 }, quiet)
    assert.equal(await readFile(join(dir.path, 'old-note'), 'utf8'), 'first')
    await assert.rejects(owner.get('album', { cwd: dir.path, output: join(dir.path, 'never'), version: 3 }, quiet), { name: 'NotFoundError' })
    // by time: the newest version stored by then
    const [v1, v2] = await owner.versions('album')
    await owner.get('album/sub/note.txt', { cwd: dir.path, output: join(dir.path, 'at-v1'), at: v1!.storedAt! }, quiet)
    assert.equal(await readFile(join(dir.path, 'at-v1'), 'utf8'), 'first')
    await owner.get('album/sub/note.txt', { cwd: dir.path, output: join(dir.path, 'at-v2'), at: v2!.storedAt! + 1000 }, quiet)
    assert.equal(await readFile(join(dir.path, 'at-v2'), 'utf8'), 'second')
    await assert.rejects(owner.get('album', { cwd: dir.path, output: join(dir.path, 'too-early'), at: v1!.storedAt! - 1 }, quiet), { name: 'NotFoundError' })
  })

  it('forget --keep-last 1 deletes the old note from its holders, keeps the shared photo, and version 2 still restores', async () => {
    const v1 = (await owner.versions('album'))[0]!
    const oldNote = v1.entries.find((e) => e.name === 'album/sub/note.txt')!
    const { forgotten, kept, reports } = await owner.forget('album', { keepLast: 1 })
    assert.deepEqual([forgotten, kept], [[1], [2]])
    assert.deepEqual(reports.map((r) => r.fileId), [oldNote.fileId], 'only the file no kept version holds')
    const ids = held(federation)
    // a batched file has its chunks and no manifest (catalogue version 4): its records are its chunks
    const records = [...(oldNote.manifest ?? []), ...(oldNote.chunks ?? [])]
    assert.ok(records.length > 0 && records.every((p) => !ids.has(p.id)), 'the old note\'s records are gone from every holder')
    assert.deepEqual((await owner.versions('album')).map((v) => v.version), [2])
    await owner.get('album', { cwd: dir.path, output: join(dir.path, 'after') }, quiet)
    assert.ok((await readFile(join(dir.path, 'after', 'photo.jpg'))).equals(photo))
    await assert.rejects(owner.forget('album', { keepLast: 0 }), { name: 'InvalidInputError' })
  })

  it('a file put alone gets versions too; rm takes the newest and leaves the older one', async () => {
    const file = join(dir.path, 'src', 'single.txt')
    await writeFile(file, 'one')
    await owner.put([file], 2, quiet)
    await writeFile(file, 'two!')
    await owner.put([file], 2, quiet)
    assert.deepEqual((await owner.versions('single.txt')).map((v) => v.version), [1, 2])
    await owner.get('single.txt', { cwd: dir.path, output: join(dir.path, 'single-now') }, quiet)
    assert.equal(await readFile(join(dir.path, 'single-now'), 'utf8'), 'two!')
    await owner.remove('single.txt')
    await owner.get('single.txt', { cwd: dir.path, output: join(dir.path, 'single-then') }, quiet)
    assert.equal(await readFile(join(dir.path, 'single-then'), 'utf8'), 'one')
  })
})

describe('a re-put asking for more copies than an unchanged file has', () => {
  it('sends the file again instead of keeping it', async () => {
    const dir = await tempDir()
    try {
      const federation = new MemoryFederation()
      for (const peer of ['p1', 'p2', 'p3']) federation.addPeer(peer)
      const deps = { master: randomBytes(32), federation, log: silentLoggerFactory('test') }
      const owner = new OwnerService(deps, new CatalogueService({ ...deps, cache: new MemoryCache(), replicas: 2 }))
      const file = join(dir.path, 'a.txt')
      await writeFile(file, 'same bytes')
      await owner.put([file], 1, quiet)
      const [kept] = await owner.put([file], 1, quiet)
      assert.equal(kept!.unchanged, 1)
      const [wider] = await owner.put([file], 3, quiet)
      assert.equal(wider!.unchanged, 0)
      assert.equal(wider!.holders.length, 3)
    } finally {
      await dir.cleanup()
    }
  })
})

describe('a re-put skips hashing a file by its stat stamp, never a file written since', () => {
  it('keeps a file not written since without reading it, and sends one rewritten under the same size and modification time', async (t) => {
    const dir = await tempDir()
    t.after(() => dir.cleanup())
    const federation = new MemoryFederation()
    for (const peer of ['p1', 'p2']) federation.addPeer(peer)
    const deps = { master: randomBytes(32), federation, log: silentLoggerFactory('test') }
    const owner = new OwnerService(deps, new CatalogueService({ ...deps, cache: new MemoryCache(), replicas: 2 }))
    const tree = join(dir.path, 'tree')
    await mkdir(tree)
    const when = new Date('2024-06-01T12:00:00Z')
    for (const name of ['a.bin', 'b.bin']) {
      await writeFile(join(tree, name), randomBytes(3000))
      await utimes(join(tree, name), when, when)
    }
    await owner.put([tree], 2, quiet)
    const first = (await owner.list()).filter((e) => e.kind === 'file')
    assert.ok(first.every((e) => /^[0-9a-f]{32}$/.test(e.statStamp ?? '')), 'each file carries its stat stamp')

    // b.bin rewritten with other bytes of the same size, its modification time set back: only its change time tells
    const rewritten = randomBytes(3000)
    await writeFile(join(tree, 'b.bin'), rewritten)
    await utimes(join(tree, 'b.bin'), when, when)
    const [outcome] = await owner.put([tree], 2, quiet)
    assert.equal(outcome!.unchanged, 1, 'a.bin kept, b.bin sent again')
    const newest = (await owner.list()).filter((e) => e.kind === 'file' && e.group?.version === 2)
    const b = newest.find((e) => e.name === 'tree/b.bin')!
    assert.notEqual(b.fileId, first.find((e) => e.name === 'tree/b.bin')!.fileId)
    assert.equal(newest.find((e) => e.name === 'tree/a.bin')!.fileId, first.find((e) => e.name === 'tree/a.bin')!.fileId)
    await owner.get('tree/b.bin', { cwd: dir.path, output: join(dir.path, 'b-back.bin') }, quiet)
    assert.ok((await readFile(join(dir.path, 'b-back.bin'))).equals(rewritten))
  })
})
