import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { CatalogueEntry } from '../src/domain/formats/catalogue.ts'
import { contentHashOf } from '../src/domain/formats/content-hash.ts'
import { PACKED_FILE_MAX_BYTES, readSmallFile } from '../src/app/owner/pack-writer.ts'
import { previousVersion } from '../src/app/owner/put-versions.ts'
import type { InputItem } from '../src/app/owner/input-paths.ts'
import { fakeChunkId, fakePeerId } from './helpers/owner-fixtures.ts'
import { tempDir } from './helpers/temp-dir.ts'

/**
 * A re-put reads a changed small file once: the bytes it is hashed by are those its pack
 * seals (put-command.ts), so the read ends at the size found without a read for the end.
 */
describe('a small file read once for its hash and its pack', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  before(async () => { dir = await tempDir() })
  after(async () => { await dir.cleanup() })

  it('reads a file whole whether it is as found, grew or shrank since, and refuses one that grew past a pack\'s largest file', async () => {
    const path = join(dir.path, 'f.bin')
    const bytes = randomBytes(20_000)
    await writeFile(path, bytes)
    assert.deepEqual(Buffer.from(await readSmallFile({ path, name: 'f.bin', size: bytes.byteLength })), bytes)
    assert.deepEqual(Buffer.from(await readSmallFile({ path, name: 'f.bin', size: 10 })), bytes, 'grew since it was found')
    assert.deepEqual(Buffer.from(await readSmallFile({ path, name: 'f.bin', size: 30_000 })), bytes, 'shrank since it was found')
    await writeFile(path, randomBytes(PACKED_FILE_MAX_BYTES + 1))
    await assert.rejects(readSmallFile({ path, name: 'f.bin', size: 10 }), { name: 'InvalidInputError' })
    await writeFile(path, new Uint8Array(0))
    assert.equal((await readSmallFile({ path, name: 'f.bin', size: 0 })).byteLength, 0)
  })

  it('decides by the hash of the bytes the caller read, without reading the file again', async () => {
    const key = randomBytes(32)
    const bytes = randomBytes(100)
    const group = { id: 'aa'.repeat(16), root: 'tree' }
    const old: CatalogueEntry = {
      fileId: 'bb'.repeat(16), name: 'tree/f.bin', kind: 'file', size: 100, mode: 0o644, mtimeMs: 5, contentHash: contentHashOf(key, bytes), group,
      batch: 'cc'.repeat(16), chunks: [{ id: fakeChunkId(), holders: [fakePeerId()] }]
    }
    const root: CatalogueEntry = { fileId: 'dd'.repeat(16), name: 'tree', kind: 'directory', size: 0, mode: 0o755, mtimeMs: 1, group }
    // a path that does not exist: a read of it would fail
    const item: InputItem = { name: 'tree/f.bin', kind: 'file', size: 100, mode: 0o644, mtimeMs: 5, path: join(dir.path, 'missing'), identity: '1:2:3', group: { id: 'ee'.repeat(16), root: 'tree' } }
    const previous = previousVersion([root, old], { path: dir.path, group: item.group!, items: [item], skipped: [] }, key, () => 1)
    let asked = 0
    const kept = await previous.unchanged(item, undefined, async () => { asked++; return contentHashOf(key, bytes) })
    assert.equal(kept?.fileId, old.fileId)
    assert.equal(await previous.unchanged(item, undefined, async () => { asked++; return contentHashOf(key, randomBytes(100)) }), undefined)
    assert.equal(asked, 2)
  })
})
