import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { silentLoggerFactory } from '../src/adapters/logging/stderr-logger.ts'
import { CatalogueService } from '../src/app/owner/catalogue-service.ts'
import { OwnerService } from '../src/app/owner/owner-service.ts'
import { buildPack } from '../src/domain/formats/pack.ts'
import type { CatalogueEntry } from '../src/domain/formats/catalogue.ts'
import { MemoryCache, MemoryFederation } from './helpers/memory-federation.ts'
import { tempDir } from './helpers/temp-dir.ts'

const quiet = (): void => {}
const FILES = 12

/**
 * What a pack writer will do (docs/small-file-packs.md), done by hand on the memory
 * federation: the files' sealed chunks become one pack on their holders, under the
 * batch's commitments, and the chunks stored alone go; the catalogue names the slices.
 */
async function packByHand (federation: MemoryFederation, catalogue: CatalogueService, files: CatalogueEntry[]): Promise<string> {
  const holders = files[0]!.chunks![0]!.holders
  const commitmentOf = (peer: string, chunkId: string): string =>
    [...federation.nodes.get(peer)!].find(([, chunks]) => chunks.has(chunkId))![0]
  const c = commitmentOf(holders[0]!, files[0]!.chunks![0]!.id)
  const d = federation.deleteCommitments.get(holders[0]!)!.get(c)!.get(files[0]!.chunks![0]!.id)!
  const pack = buildPack(files.map((f) => federation.nodes.get(holders[0]!)!.get(c)!.get(f.chunks![0]!.id)!))
  for (const peer of holders) {
    const chunks = federation.nodes.get(peer)!.get(c)!
    for (const f of files) chunks.delete(f.chunks![0]!.id)
    chunks.set(pack.id, pack.bytes)
    federation.deleteCommitments.get(peer)!.get(c)!.set(pack.id, d)
  }
  const slices = new Map(files.map((f, i) => [f.fileId, pack.refs[i]!]))
  await catalogue.update((entries) => entries.map((e) => {
    const pack = slices.get(e.fileId)
    return pack === undefined ? e : { ...e, chunks: [{ ...e.chunks![0]!, pack }] }
  }))
  return pack.id
}

describe('reading packed files', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  const federation = new MemoryFederation()
  const deps = { master: randomBytes(32), federation, log: silentLoggerFactory('test') }
  const catalogue = new CatalogueService({ ...deps, cache: new MemoryCache(), replicas: 3 })
  const owner = new OwnerService(deps, catalogue)
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
    packId = await packByHand(federation, catalogue, files)
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

  it('a pack no holder has fails the get of its files with FileUnavailableError, and writes none of them', async () => {
    for (const node of federation.nodes.values()) for (const chunks of node.values()) chunks.delete(packId)
    await assert.rejects(owner.get('album', { cwd: dir.path, output: join(dir.path, 'out3') }, quiet), { name: 'FileUnavailableError' })
    await assert.rejects(readFile(join(dir.path, 'out3', 'f0.txt')), { code: 'ENOENT' })
  })
})
