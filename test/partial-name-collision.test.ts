import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { silentLoggerFactory } from '../src/adapters/logging/stderr-logger.ts'
import { CatalogueService } from '../src/app/owner/catalogue-service.ts'
import { OwnerService } from '../src/app/owner/owner-service.ts'
import { MemoryCache, MemoryFederation } from './helpers/memory-federation.ts'
import { tempDir } from './helpers/temp-dir.ts'

const quiet = (): void => {}

/**
 * A file is written under a temporary name and renamed when complete. A tree may hold a
 * file whose name is another's temporary name (an interrupted restore leaves such files,
 * and the next backup stores them): restoring both at once must not let one file's
 * rename land on the other's half-written bytes.
 */
describe('a file named like another file\'s temporary name', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  const federation = new MemoryFederation()
  let owner: OwnerService
  const big = randomBytes(3 * 1024 * 1024 + 5)
  const small = Buffer.from('left over from an interrupted get')

  before(async () => {
    dir = await tempDir()
    federation.addPeer('p1')
    const deps = { master: randomBytes(32), federation, log: silentLoggerFactory('test') }
    owner = new OwnerService(deps, new CatalogueService({ ...deps, cache: new MemoryCache(), replicas: 1 }))
    const tree = join(dir.path, 'src', 'tree')
    await mkdir(tree, { recursive: true })
    await writeFile(join(tree, 'big.bin'), big)
    await writeFile(join(tree, 'big.bin.quloud-partial'), small)
    await owner.put([tree], 1, quiet)
  })
  after(async () => { await dir.cleanup() })

  it('get restores both with their own bytes, and no temporary file is left', async () => {
    for (let round = 0; round < 3; round++) {
      const out = join(dir.path, `out${round}`)
      await owner.get('tree', { cwd: dir.path, output: out }, quiet)
      assert.ok((await readFile(join(out, 'big.bin'))).equals(big), 'big.bin has its own bytes')
      assert.ok((await readFile(join(out, 'big.bin.quloud-partial'))).equals(small), 'the small file has its own bytes')
      assert.deepEqual((await readdir(out)).sort(), ['big.bin', 'big.bin.quloud-partial'])
    }
  })
})
