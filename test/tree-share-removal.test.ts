import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { silentLoggerFactory } from '../src/adapters/logging/stderr-logger.ts'
import { CatalogueService } from '../src/app/owner/catalogue-service.ts'
import { OwnerService } from '../src/app/owner/owner-service.ts'
import { manifestSecret } from '../src/domain/crypto/key-derivation.ts'
import { decodeShareCode } from '../src/domain/formats/share-code.ts'
import { MemoryCache, MemoryFederation } from './helpers/memory-federation.ts'
import { tempDir } from './helpers/temp-dir.ts'

const quiet = (): void => {}

/**
 * `rm` of a shared tree deletes its files; the tree's signed listing (every name, size
 * and time inside the tree) is a record of the tree's own and must go too, or a holder
 * of the old code still reads the names of a tree its owner removed.
 */
describe('rm of a shared tree', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  const federation = new MemoryFederation()
  let owner: OwnerService

  before(async () => {
    dir = await tempDir()
    for (const peer of ['p1', 'p2']) federation.addPeer(peer)
    const deps = { master: randomBytes(32), federation, log: silentLoggerFactory('test') }
    owner = new OwnerService(deps, new CatalogueService({ ...deps, cache: new MemoryCache(), replicas: 2 }))
    const tree = join(dir.path, 'diary')
    await mkdir(join(tree, 'private'), { recursive: true })
    await writeFile(join(tree, 'private', 'names-of-friends.txt'), 'secret')
    await owner.put([tree], 2, quiet)
  })
  after(async () => { await dir.cleanup() })

  it('leaves nothing the old code opens on any peer', async () => {
    const { code } = await owner.share('diary')
    const secret = manifestSecret(decodeShareCode(code).readRoot)
    const held = async (): Promise<number> => {
      let n = 0
      for (const peer of ['p1', 'p2']) n += (await (await federation.openSession(peer, { action: 'read', secret })).list()).length
      return n
    }
    assert.ok(await held() > 0, 'the listing was stored')
    await owner.remove('diary')
    assert.equal(await held(), 0, 'the tree listing is deleted with the tree')
    await assert.rejects(owner.receive(code, { cwd: dir.path, output: join(dir.path, 'late') }, quiet), { name: 'FileUnavailableError' })
  })
})
