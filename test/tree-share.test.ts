import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { silentLoggerFactory } from '../src/adapters/logging/stderr-logger.ts'
import { CatalogueService } from '../src/app/owner/catalogue-service.ts'
import { OwnerService } from '../src/app/owner/owner-service.ts'
import { ownerFileCapabilities, writeKeyOf } from '../src/domain/capabilities/file-capabilities.ts'
import { newFileId, fileIdToString } from '../src/domain/formats/file-id.ts'
import { newestTreeListing, sealTreeListing, type TreeListing } from '../src/domain/formats/tree-listing.ts'
import { MemoryCache, MemoryFederation } from './helpers/memory-federation.ts'
import { tempDir } from './helpers/temp-dir.ts'

const quiet = (): void => {}

describe('directory shares: one read-only code for a whole tree', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  const federation = new MemoryFederation()
  let owner: OwnerService
  let friend: OwnerService
  let code = ''

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
    await mkdir(join(album, 'trip', 'day1'), { recursive: true })
    await mkdir(join(album, 'empty'))
    await writeFile(join(album, 'cover.txt'), 'cover')
    await writeFile(join(album, 'trip', 'map.bin'), randomBytes(1024 * 1024 + 3))
    await writeFile(join(album, 'trip', 'day1', 'note.txt'), 'day one')
    await owner.put([album], 2, quiet)
  })
  after(async () => { await dir.cleanup() })

  it('the friend restores the whole tree, empty directories included', async () => {
    code = (await owner.share('album', { label: 'family' })).code
    const received = await friend.receive(code, { cwd: dir.path, output: join(dir.path, 'gift') }, quiet)
    assert.equal(received.name, 'album')
    for (const file of ['cover.txt', 'trip/map.bin', 'trip/day1/note.txt']) {
      assert.ok((await readFile(join(dir.path, 'gift', file))).equals(await readFile(join(dir.path, 'src', 'album', file))), file)
    }
    assert.deepEqual(await readdir(join(dir.path, 'gift', 'empty')), [])
    assert.equal((await owner.shares()).map((s) => s.name).join(), 'album')
  })

  it('a listing signed by anyone but the tree\'s writer is not believed, whatever its revision', () => {
    const caps = ownerFileCapabilities(randomBytes(32), newFileId())
    const other = writeKeyOf(randomBytes(32))
    const listing: TreeListing = { version: 2, kind: 'tree', treeId: fileIdToString(newFileId()), revision: 5, root: 'album', entries: [], writer: Buffer.from(other.publicKey).toString('hex') }
    assert.throws(() => sealTreeListing(listing, caps.read, other), { name: 'InvalidTreeListingError' })
    const genuine = sealTreeListing({ ...listing, revision: 1, writer: Buffer.from(caps.write.publicKey).toString('hex') }, caps.read, caps.write)
    assert.equal(newestTreeListing(genuine, caps.read)?.revision, 1)
    assert.equal(newestTreeListing(genuine, { ...caps.read, writerPin: new Uint8Array(16) }), undefined, 'another pin accepts nothing')
  })

  it('unshare rotates every file of the tree: the old code fetches nothing, a new one works', async () => {
    const revocation = await owner.unshare('album')
    assert.equal(revocation.revoked, 1)
    await assert.rejects(friend.receive(code, { cwd: dir.path, output: join(dir.path, 'late') }, quiet), { name: 'FileUnavailableError' })
    await assert.rejects(stat(join(dir.path, 'late')), { code: 'ENOENT' })
    const fresh = (await owner.share('album')).code
    assert.notEqual(fresh, code)
    await friend.receive(fresh, { cwd: dir.path, output: join(dir.path, 'again') }, quiet)
    assert.equal(await readFile(join(dir.path, 'again', 'trip', 'day1', 'note.txt'), 'utf8'), 'day one')
  })
})
