import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { silentLoggerFactory } from '../src/adapters/logging/stderr-logger.ts'
import { CatalogueService } from '../src/app/owner/catalogue-service.ts'
import { OwnerService } from '../src/app/owner/owner-service.ts'
import { MemoryCache, MemoryFederation } from './helpers/memory-federation.ts'
import { tempDir } from './helpers/temp-dir.ts'

function ownerOn (federation: MemoryFederation, master: Uint8Array): OwnerService {
  const log = silentLoggerFactory('test')
  const deps = { master, federation, log }
  return new OwnerService(deps, new CatalogueService({ ...deps, cache: new MemoryCache(), replicas: 3 }))
}

const quiet = (): void => {}

describe('OwnerService over an in-memory federation', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  const federation = new MemoryFederation()
  const master = randomBytes(32)
  let owner: OwnerService
  let content: Buffer

  before(async () => {
    dir = await tempDir()
    for (const peer of ['p1', 'p2', 'p3']) federation.addPeer(peer)
    owner = ownerOn(federation, master)
    content = randomBytes(3 * 1024 * 1024 + 5)
    await writeFile(join(dir.path, 'photo.raw'), content)
  })
  after(async () => { await dir.cleanup() })

  it('puts a file on 2 of 3 peers and gets it back, also with one holder gone', async () => {
    const [outcome] = await owner.put([join(dir.path, 'photo.raw')], 2, quiet)
    assert.equal(outcome!.underReplicated, false)
    assert.equal(outcome!.holders.length, 2)
    await owner.get(outcome!.id, { output: join(dir.path, 'back.raw'), cwd: dir.path }, quiet)
    assert.ok((await readFile(join(dir.path, 'back.raw'))).equals(content))
    federation.reachable.delete(outcome!.holders[0]!)
    await owner.get('photo.raw', { output: join(dir.path, 'failover.raw'), cwd: dir.path }, quiet)
    assert.ok((await readFile(join(dir.path, 'failover.raw'))).equals(content))
    federation.reachable.add(outcome!.holders[0]!)
    await assert.rejects(owner.get('photo.raw', { output: join(dir.path, 'back.raw'), cwd: dir.path }, quiet), { name: 'OutputExistsError' })
  })

  it('shares one file: another owner receives it with the code alone', async () => {
    const { code } = await owner.share('photo.raw')
    const friend = ownerOn(federation, randomBytes(32))
    const received = await friend.receive(code, { cwd: dir.path, output: join(dir.path, 'gift.raw') }, quiet)
    assert.equal(received.name, 'photo.raw')
    assert.ok((await readFile(received.path)).equals(content))
  })

  it('rm deletes every chunk and manifest piece on every holder', async () => {
    const before = [...federation.nodes.values()].reduce((n, node) => n + [...node.values()].reduce((m, held) => m + held.size, 0), 0)
    const [report] = await owner.remove('photo.raw')
    assert.deepEqual(report!.unreachable, [])
    assert.equal(report!.deleted, 4 * 2 + 2)
    const after = [...federation.nodes.values()].reduce((n, node) => n + [...node.values()].reduce((m, held) => m + held.size, 0), 0)
    assert.equal(before - after, 10, 'only the catalogue remains, one generation as before')
    assert.deepEqual(await owner.list(), [])
  })

  it('fewer live peers than replicas: stored and marked under-replicated', async () => {
    await mkdir(join(dir.path, 'docs'), { recursive: true })
    await writeFile(join(dir.path, 'docs', 'a.txt'), 'a')
    const [outcome] = await owner.put([join(dir.path, 'docs')], 5, quiet)
    assert.equal(outcome!.kind, 'directory')
    assert.equal(outcome!.underReplicated, true)
    assert.equal(outcome!.holders.length, 3)
  })
})
