import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { silentLoggerFactory } from '../src/adapters/logging/stderr-logger.ts'
import { batchOf, BatchSequence } from '../src/app/owner/batches.ts'
import { OwnerJournal } from '../src/app/owner/work-in-flight.ts'
import type { JournalRecord, WorkJournal } from '../src/ports/work-journal.ts'
import { CatalogueService } from '../src/app/owner/catalogue-service.ts'
import { OwnerService } from '../src/app/owner/owner-service.ts'
import { PeerSessions } from '../src/app/owner/peer-sessions.ts'
import { putFile } from '../src/app/owner/put-file.ts'
import { readManifest } from '../src/app/owner/fetch-file.ts'
import { decodeShareCode } from '../src/domain/formats/share-code.ts'
import { contentKey, manifestKey } from '../src/domain/crypto/key-derivation.ts'
import { OwnerChunkCipher } from '../src/domain/crypto/owner-layer.ts'
import { parseFileId } from '../src/domain/formats/file-id.ts'
import type { CatalogueEntry } from '../src/domain/formats/catalogue.ts'
import { storedDataOf } from '../src/app/owner/packed-files.ts'
import { sliceOfPack } from '../src/domain/formats/pack.ts'
import { MemoryCache, MemoryFederation } from './helpers/memory-federation.ts'
import { tempDir } from './helpers/temp-dir.ts'

const quiet = (): void => {}
const FILES = 40

/** Every record held by every storage node, by chunk id. */
function held (federation: MemoryFederation): Set<string> {
  const ids = new Set<string>()
  for (const node of federation.nodes.values()) for (const records of node.values()) for (const id of records.keys()) ids.add(id)
  return ids
}

/**
 * The small files of one put share one read and one delete commitment (a batch), so
 * get and rm prove once per holder, not per file; a share of one of them still opens
 * that file only, and deleting one frees its records at once.
 */
describe('batches: one proof per holder for the small files of a put', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  const federation = new MemoryFederation()
  const master = randomBytes(32)
  let owner: OwnerService
  let friend: OwnerService
  let files: CatalogueEntry[] = []
  const ownerOn = (key: Uint8Array): OwnerService => {
    const deps = { master: key, federation, log: silentLoggerFactory('test') }
    return new OwnerService(deps, new CatalogueService({ ...deps, cache: new MemoryCache(), replicas: 3 }))
  }

  before(async () => {
    dir = await tempDir()
    for (const peer of ['p1', 'p2', 'p3']) federation.addPeer(peer)
    owner = ownerOn(master)
    friend = ownerOn(randomBytes(32))
    const album = join(dir.path, 'src', 'album')
    await mkdir(join(album, 'sub'), { recursive: true })
    for (let i = 0; i < FILES; i++) await writeFile(join(album, i % 2 === 0 ? '' : 'sub', `f${i}.txt`), randomBytes(100 + i * 37))
    await writeFile(join(album, 'empty.txt'), '')
    await owner.put([album], 3, quiet)
    files = (await owner.list()).filter((e) => e.kind === 'file')
  })
  after(async () => { await dir.cleanup() })

  it('puts every small file of the command into one batch, its chunks named in the catalogue', () => {
    assert.equal(files.length, FILES + 1)
    assert.equal(new Set(files.map((e) => e.batch)).size, 1)
    for (const e of files) assert.equal(e.chunks!.length, Math.ceil(e.size / (1024 * 1024)), e.name)
    // one record per chunk and holder, no manifest piece beside it: a manifest is stored when the file is shared
    for (const e of files) assert.equal(e.manifest, undefined, e.name)
    const chunkRecords = files.reduce((n, e) => n + e.chunks!.reduce((m, c) => m + c.holders.length, 0), 0)
    const catalogueRecords = [...held(federation)].length - new Set(files.flatMap((e) => storedDataOf(e).map((c) => c.id))).size
    assert.ok(chunkRecords > 0 && catalogueRecords <= 3, `${catalogueRecords} records beside the chunks (the catalogue's piece)`)
  })

  it('a get of the tree proves once per holder it reads from, not once per file', async () => {
    federation.counts.reset()
    await owner.get('album', { cwd: dir.path, output: join(dir.path, 'out') }, quiet)
    for (const e of files) assert.ok((await readFile(join(dir.path, 'out', e.name.slice('album/'.length)))).equals(await readFile(join(dir.path, 'src', e.name))), e.name)
    // the batch's read commitment on each holder read from, and the catalogue's
    assert.ok(federation.counts.proofs <= 3 + 3, `${federation.counts.proofs} proofs for ${files.length} files`)
  })

  it('an rm of half the tree proves once per holder and frees what only those files kept (a pack goes with its last file); the rest stays readable', async () => {
    federation.counts.reset()
    await owner.remove('album/sub')
    const deleteProofs = [...federation.counts.sessionOpens.keys()].filter((k) => k.includes(' delete ')).length
    assert.ok(deleteProofs <= 3 + 3, `${deleteProofs} delete proofs (one batch and the catalogue's, per holder)`)
    const gone = files.filter((e) => e.name.startsWith('album/sub/'))
    const now = held(federation)
    // a pack the removed files shared with kept ones is rewritten without them
    const kept = (await owner.list()).filter((e) => e.kind === 'file')
    assert.equal(kept.length, files.length - gone.length)
    const keptIds = new Set(kept.flatMap((e) => storedDataOf(e).map((c) => c.id)))
    for (const e of gone) for (const id of [...storedDataOf(e).map((c) => c.id), ...(e.manifest ?? []).map((m) => m.id)]) assert.ok(!now.has(id), `${e.name} ${id} freed`)
    for (const id of keptIds) assert.ok(now.has(id), `${id} kept`)
    await owner.get('album', { cwd: dir.path, output: join(dir.path, 'out2') }, quiet)
    for (const e of kept) assert.ok((await readFile(join(dir.path, 'out2', e.name.slice('album/'.length)))).equals(await readFile(join(dir.path, 'src', e.name))), e.name)
  })

  it('attack: a share of one batched file opens that file, and with what it carries the batch\'s other chunks neither open nor delete', async () => {
    const [shared, listed] = (await owner.list()).filter((e) => e.kind === 'file' && e.size > 0)
    const { code } = await owner.share(shared!.name)
    // the share took the shared file out of its pack and rewrote the pack: where the other file is now
    const other = (await owner.list()).find((e) => e.fileId === listed!.fileId)
    const received = await friend.receive(code, { cwd: dir.path, output: join(dir.path, 'gift') }, quiet)
    assert.ok((await readFile(received.path)).equals(await readFile(join(dir.path, 'src', shared!.name))))
    // its manifest was stored by the share, the other file still has none
    const after = await owner.list()
    const refs = after.find((e) => e.fileId === shared!.fileId)!.manifest
    assert.ok(refs !== undefined && refs.every((r) => held(federation).has(r.id)))
    assert.equal(after.find((e) => e.fileId === other!.fileId)!.manifest, undefined)

    // the friend reads the manifest with the code's R and learns the batch's read secret
    const read = decodeShareCode(code)
    const sessions = new PeerSessions(federation)
    try {
      const manifest = await readManifest(federation, sessions, silentLoggerFactory('test'), { read })
      assert.ok(manifest?.dataSecret !== undefined)
      const secret = BigInt(manifest.dataSecret)
      // it lists the batch and fetches the other file's chunk: ciphertext under a key the code does not give
      const ids = await sessions.list('p1', secret)
      const { id: chunk, pack } = other!.chunks![0]!
      const stored = pack?.id ?? chunk
      assert.ok(ids.includes(stored))
      const bytes = await sessions.get('p1', secret, stored)
      const sealed = pack === undefined ? bytes : sliceOfPack(bytes, pack, chunk)
      const fileId = parseFileId(other!.fileId)
      for (const key of [contentKey(read.readRoot), manifestKey(read.readRoot)]) {
        assert.throws(() => new OwnerChunkCipher(key, fileId).open(0, true, sealed))
      }
      // the read secret does not delete: records are deleted under the batch's delete commitment only
      await assert.rejects(sessions.delete('p1', secret, stored), { name: 'NotFoundError' })
      assert.ok(held(federation).has(stored))
    } finally {
      await sessions.close()
    }
  })

  it('the owner derives a batch\'s secrets from the master and its id alone (what recovery needs)', () => {
    const [entry] = files
    const again = batchOf(Uint8Array.from(master), entry!.batch!)
    assert.equal(again.commitment, batchOf(master, entry!.batch!).commitment)
    assert.notEqual(again.readSecret, again.deleteSecret)
    assert.notEqual(batchOf(randomBytes(32), entry!.batch!).commitment, again.commitment)
  })

  it('a command opens a new batch, journaled before use, whenever the current one would pass its chunk limit', async () => {
    const written: JournalRecord[] = []
    const memory: WorkJournal = {
      append: async (r) => { written.push(r) },
      read: async () => [...written],
      compact: async () => {}
    }
    const sequence = await BatchSequence.open(master, new OwnerJournal(memory), undefined, 5)
    const slots = await Promise.all(Array.from({ length: 12 }, async () => sequence.take(1)))
    const ids = [...new Set(slots.map((s) => s.batch.id))]
    assert.equal(ids.length, 3, '5 + 5 + 2 chunks')
    for (const id of ids) assert.ok(slots.filter((s) => s.batch.id === id).length <= 5)
    assert.deepEqual(written.filter((r) => r.kind === 'put').map((r) => r.op), ids, 'each journaled when opened')
    assert.equal((await sequence.take(3)).batch.id, ids[2], 'a file that still fits goes into the current batch')
    await sequence.done()
    assert.deepEqual(written.filter((r) => r.kind === 'done').map((r) => r.op), ids)
  })

  it('a batched file that grew past a batched file\'s chunks while it was read fails, rather than enter a catalogue that cannot name it', async () => {
    const path = join(dir.path, 'grown.bin')
    await writeFile(path, Buffer.alloc(17 * 1024 * 1024, 1))
    const deps = { master, federation, log: silentLoggerFactory('test') }
    await assert.rejects(putFile(deps, { path, name: 'grown.bin', size: 100, mode: 0o644, mtimeMs: 1, replicas: 1, batch: batchOf(master, 'aa'.repeat(16)) }), { name: 'InvalidInputError' })
  })
})
