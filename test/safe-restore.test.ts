import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { chmod, lstat, mkdir, readdir, readFile, readlink, stat, symlink, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { silentLoggerFactory } from '../src/adapters/logging/stderr-logger.ts'
import { CatalogueService } from '../src/app/owner/catalogue-service.ts'
import { OwnerService } from '../src/app/owner/owner-service.ts'
import { MemoryCache, MemoryFederation } from './helpers/memory-federation.ts'
import { tempDir } from './helpers/temp-dir.ts'

const quiet = (): void => {}

/** A directory's names, modes and contents: what must not change outside `-o`. */
async function snapshot (path: string): Promise<string> {
  const out: string[] = []
  for (const name of (await readdir(path)).sort()) {
    const info = await lstat(join(path, name))
    out.push(`${name} ${info.mode.toString(8)} ${info.isFile() ? (await readFile(join(path, name))).toString('hex') : ''}`)
  }
  return `${(await lstat(path)).mode.toString(8)}\n${out.join('\n')}`
}

/**
 * Restores never write through a link found in the output tree, nor outside it; an
 * interrupted restore resumes with skip-existing; every path ls prints is an argument.
 */
describe('restores: safe outputs, resume, paths', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  const federation = new MemoryFederation()
  let owner: OwnerService
  let friend: OwnerService
  let outside = ''
  const big = randomBytes(2 * 1024 * 1024 + 7)

  const ownerOn = (master: Uint8Array): OwnerService => {
    const deps = { master, federation, log: silentLoggerFactory('test') }
    return new OwnerService(deps, new CatalogueService({ ...deps, cache: new MemoryCache(), replicas: 2 }))
  }

  before(async () => {
    dir = await tempDir()
    for (const peer of ['p1', 'p2', 'p3']) federation.addPeer(peer)
    owner = ownerOn(randomBytes(32))
    friend = ownerOn(randomBytes(32))
    const album = join(dir.path, 'src', 'album')
    await mkdir(join(album, 'photos', 'day 1'), { recursive: true })
    await mkdir(join(album, 'empty'))
    await writeFile(join(album, 'photos', 'IMG_0002.jpg'), big)
    await writeFile(join(album, 'photos', 'day 1', 'été.txt'), 'summer')
    await writeFile(join(album, 'cover.txt'), 'cover')
    await symlink('photos/IMG_0002.jpg', join(album, 'latest'))
    await symlink('photos', join(album, 'pics'))
    await symlink('/nonexistent/target', join(album, 'dangling'))
    await owner.put([album], 2, quiet)
    outside = join(dir.path, 'outside')
    await mkdir(outside)
    await writeFile(join(outside, 'keep.txt'), 'untouched')
    await chmod(outside, 0o750)
  })
  after(async () => { await dir.cleanup() })

  it('restores links as links, byte-identical files, empty directories', async () => {
    const out = join(dir.path, 'r1')
    const report = await owner.get('album', { cwd: dir.path, output: out }, quiet)
    assert.equal(report.files, 3)
    assert.equal(report.links, 3)
    assert.ok((await readFile(join(out, 'photos', 'IMG_0002.jpg'))).equals(big))
    assert.equal(await readlink(join(out, 'latest')), 'photos/IMG_0002.jpg')
    assert.equal(await readlink(join(out, 'pics')), 'photos')
    assert.equal(await readlink(join(out, 'dangling')), '/nonexistent/target')
    assert.deepEqual(await readdir(join(out, 'empty')), [])
  })

  it('gets a nested file and a sub-directory by the paths ls prints, trailing slash or not', async () => {
    await owner.get('album/photos/day 1/été.txt', { cwd: dir.path, output: join(dir.path, 'one.txt') }, quiet)
    assert.equal(await readFile(join(dir.path, 'one.txt'), 'utf8'), 'summer')
    const report = await owner.get('album/photos/', { cwd: join(dir.path) }, quiet)
    assert.equal(report.files, 2)
    assert.ok((await readFile(join(dir.path, 'photos', 'IMG_0002.jpg'))).equals(big))
    assert.equal(await readFile(join(dir.path, 'photos', 'day 1', 'été.txt'), 'utf8'), 'summer')
    const group = (await owner.list()).find((e) => e.name === 'album')!.group!.id
    const byPrefix = await owner.get(group.slice(0, 8), { cwd: dir.path, output: join(dir.path, 'by-prefix') }, quiet)
    assert.equal(byPrefix.files, 3)
  })

  it('a planted link where a directory should be is refused, and nothing outside -o changes', async () => {
    const out = join(dir.path, 'planted-dir')
    await mkdir(out)
    await symlink(outside, join(out, 'photos'))
    const before = await snapshot(outside)
    for (const existing of ['refuse', 'skip', 'overwrite'] as const) {
      await assert.rejects(owner.get('album', { cwd: dir.path, output: out, existing }, quiet), { name: 'OutputLinkError' }, existing)
      assert.equal(await snapshot(outside), before, `${existing}: the link's target is unchanged`)
    }
  })

  it('a planted link at a file\'s path is refused, and --overwrite replaces the link, not its target', async () => {
    const out = join(dir.path, 'planted-file')
    await mkdir(out)
    await symlink(join(outside, 'keep.txt'), join(out, 'cover.txt'))
    const before = await snapshot(outside)
    await assert.rejects(owner.get('album', { cwd: dir.path, output: out }, quiet), { name: 'OutputExistsError' })
    await assert.rejects(owner.get('album', { cwd: dir.path, output: out, existing: 'skip' }, quiet), { name: 'OutputExistsError' }, 'a link is not the stored file')
    assert.equal(await snapshot(outside), before)
    await owner.get('album', { cwd: dir.path, output: out, existing: 'overwrite' }, quiet)
    assert.equal((await lstat(join(out, 'cover.txt'))).isFile(), true)
    assert.equal(await readFile(join(out, 'cover.txt'), 'utf8'), 'cover')
    assert.equal(await snapshot(outside), before)
  })

  it('receive refuses a link at its output path and writes nothing through it', async () => {
    const { code } = await owner.share('album/cover.txt')
    const out = join(dir.path, 'received.txt')
    await symlink(join(outside, 'keep.txt'), out)
    const before = await snapshot(outside)
    await assert.rejects(friend.receive(code, { cwd: dir.path, output: out }, quiet), { name: 'OutputExistsError' })
    assert.equal(await snapshot(outside), before)
  })

  it('shares a sub-directory by its path: the code opens that subtree only, links included', async () => {
    const { code, name } = await owner.share('album/photos/')
    assert.equal(name, 'album/photos')
    const out = join(dir.path, 'gift')
    const received = await friend.receive(code, { cwd: dir.path, output: out }, quiet)
    assert.equal(received.name, 'photos')
    assert.deepEqual((await readdir(out)).sort(), ['IMG_0002.jpg', 'day 1'])
    assert.ok((await readFile(join(out, 'IMG_0002.jpg'))).equals(big))
  })

  it('a restore cut short resumes with skip-existing: matching files kept, the rest fetched, a changed one refused', async () => {
    const out = join(dir.path, 'resume')
    await owner.get('album', { cwd: dir.path, output: out }, quiet)
    // what a killed restore leaves: some files in place, others not yet
    await unlink(join(out, 'photos', 'IMG_0002.jpg'))
    await unlink(join(out, 'latest'))
    // and what a crashed daemon leaves: the temporary of a file it was writing, beside a stranger's look-alike
    await writeFile(join(out, 'photos', 'IMG_0002.jpg.0123456789ab.quloud-partial'), big.subarray(0, 1000))
    await writeFile(join(out, 'photos', 'notmine.jpg.0123456789ab.quloud-partial'), 'not a temporary of this restore')
    await assert.rejects(owner.get('album', { cwd: dir.path, output: out }, quiet), { name: 'OutputExistsError' }, 'the default still refuses')
    const kept = (await stat(join(out, 'cover.txt'))).ino
    const report = await owner.get('album', { cwd: dir.path, output: out, existing: 'skip' }, quiet)
    assert.equal(report.files, 1)
    assert.equal(report.links, 1)
    assert.equal(report.skipped.length, 4)
    assert.equal(report.leftovers, 1)
    assert.deepEqual((await readdir(join(out, 'photos'))).sort(), ['IMG_0002.jpg', 'day 1', 'notmine.jpg.0123456789ab.quloud-partial'])
    assert.equal((await stat(join(out, 'cover.txt'))).ino, kept, 'a matching file is not written again')
    assert.ok((await readFile(join(out, 'photos', 'IMG_0002.jpg'))).equals(big))
    // same size and time, other bytes: the content hash tells them apart
    const cover = join(out, 'cover.txt')
    const { mtime } = await stat(cover)
    await writeFile(cover, 'COVER')
    const { utimes } = await import('node:fs/promises')
    await utimes(cover, mtime, mtime)
    await assert.rejects(owner.get('album', { cwd: dir.path, output: out, existing: 'skip' }, quiet), { name: 'OutputExistsError' })
    await owner.get('album', { cwd: dir.path, output: out, existing: 'overwrite' }, quiet)
    assert.equal(await readFile(cover, 'utf8'), 'cover')
  })

  it('rm of a nested file by its path leaves the rest of the tree', async () => {
    const reports = await owner.remove('album/photos/day 1/été.txt')
    assert.deepEqual(reports.map((r) => r.name), ['album/photos/day 1/été.txt'])
    const names = (await owner.list()).map((e) => e.name)
    assert.ok(!names.includes('album/photos/day 1/été.txt'))
    assert.ok(names.includes('album/photos/IMG_0002.jpg'))
  })
})
