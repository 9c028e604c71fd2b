import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { rmSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { silentLoggerFactory } from '../src/adapters/logging/stderr-logger.ts'
import { CatalogueService } from '../src/app/owner/catalogue-service.ts'
import { OwnerService } from '../src/app/owner/owner-service.ts'
import { putFile } from '../src/app/owner/put-file.ts'
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

describe('OwnerService put of several arguments', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  const log = silentLoggerFactory('test')
  before(async () => { dir = await tempDir() })
  after(async () => { await dir.cleanup() })

  function fresh (): { owner: OwnerService, catalogue: CatalogueService, federation: MemoryFederation } {
    const federation = new MemoryFederation()
    for (const peer of ['p1', 'p2', 'p3']) federation.addPeer(peer)
    const deps = { master: randomBytes(32), federation, log }
    const catalogue = new CatalogueService({ ...deps, cache: new MemoryCache(), replicas: 3 })
    return { owner: new OwnerService(deps, catalogue), catalogue, federation }
  }

  it('changes the catalogue once for the whole command', async () => {
    const { owner, catalogue } = fresh()
    await mkdir(join(dir.path, 'tree'), { recursive: true })
    for (const name of ['one', 'two', 'tree/three']) await writeFile(join(dir.path, name), name)
    const outcomes = await owner.put(['one', 'two', 'tree'].map((name) => join(dir.path, name)), 2, quiet)
    assert.equal(outcomes.length, 3)
    const loaded = await catalogue.load()
    assert.equal(loaded.generation, 1)
    assert.deepEqual(loaded.entries.map((e) => e.name), ['one', 'two', 'tree', 'tree/three'])
  })

  it('when an argument fails, the ones stored before it still enter the catalogue', async () => {
    const { owner, catalogue } = fresh()
    await writeFile(join(dir.path, 'kept'), 'kept')
    await writeFile(join(dir.path, 'vanishing'), 'vanishing')
    // the second file disappears after the command expanded its arguments, while the first is stored
    const progress = (): void => { rmSync(join(dir.path, 'vanishing'), { force: true }) }
    await assert.rejects(owner.put([join(dir.path, 'kept'), join(dir.path, 'vanishing')], 2, progress), { code: 'ENOENT' })
    assert.deepEqual((await catalogue.load()).entries.map((e) => e.name), ['kept'])
  })

  it('putFile takes size, mode and mtime from its caller rather than stat-ing the file again', async () => {
    const { federation } = fresh()
    await writeFile(join(dir.path, 'plain'), 'plain', { mode: 0o644 })
    const result = await putFile({ master: randomBytes(32), federation, log }, { path: join(dir.path, 'plain'), name: 'plain', size: 5, mode: 0o600, mtimeMs: 1_000_000, replicas: 2 })
    assert.equal(result.entry.mode, 0o600)
    assert.equal(result.entry.mtimeMs, 1_000_000)
    assert.equal(result.entry.size, 5)
  })
})
