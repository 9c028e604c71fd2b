import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdir, readdir, readFile, readlink, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { silentLoggerFactory } from '../src/adapters/logging/stderr-logger.ts'
import { CatalogueService } from '../src/app/owner/catalogue-service.ts'
import { OwnerService } from '../src/app/owner/owner-service.ts'
import { ownerFileCapabilities } from '../src/domain/capabilities/file-capabilities.ts'
import { signBody } from '../src/domain/capabilities/signed-body.ts'
import { manifestSecret } from '../src/domain/crypto/key-derivation.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { fileIdToString, newFileId, parseFileId } from '../src/domain/formats/file-id.ts'
import { sharedPieceCodec } from '../src/domain/formats/manifest.ts'
import { encodeShareCode } from '../src/domain/formats/share-code.ts'
import { decodeTreeListing, TREE_SIGNATURE_LABEL } from '../src/domain/formats/tree-listing.ts'
import { commitmentToDecimal, poseidonCommitment } from '../src/domain/proofs/poseidon-commitment.ts'
import { MemoryCache, MemoryFederation } from './helpers/memory-federation.ts'
import { tempDir } from './helpers/temp-dir.ts'

const quiet = (): void => {}
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

/**
 * A directory share comes from someone the receiver does not have to trust: the sharer
 * signs its own listing with its own tree key, so every name in it is the sharer's
 * choice. Whatever the names, receive writes nothing outside the output directory and
 * never has to guess whether a path is a file or a directory.
 */
describe('a hostile sharer\'s tree listing', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  const federation = new MemoryFederation()
  const sharerMaster = randomBytes(32)
  let friend: OwnerService
  let sharer: OwnerService
  let fileRead: { readRoot: string, writerPin: string }

  const ownerOn = (master: Uint8Array): OwnerService => {
    const deps = { master, federation, log: silentLoggerFactory('test') }
    return new OwnerService(deps, new CatalogueService({ ...deps, cache: new MemoryCache(), replicas: 1 }))
  }

  before(async () => {
    dir = await tempDir()
    federation.addPeer('p1')
    sharer = ownerOn(sharerMaster)
    friend = ownerOn(randomBytes(32))
    await writeFile(join(dir.path, 'payload.txt'), 'attacker bytes')
    await sharer.put([join(dir.path, 'payload.txt')], 1, quiet)
    // a small file stores its manifest when first shared (catalogue version 4): the hostile listings below name it
    await sharer.share('payload.txt')
    const entry = (await sharer.list()).find((e) => e.name === 'payload.txt')!
    const read = ownerFileCapabilities(sharerMaster, parseFileId(entry.fileId)).read
    fileRead = { readRoot: hex(read.readRoot), writerPin: hex(read.writerPin) }
  })
  after(async () => { await dir.cleanup() })

  /** Signs and stores a listing with `entries` as given (no checks of the writer's side), and its code. */
  async function hostileShare (root: string, entries: unknown[], version = 2): Promise<string> {
    const caps = ownerFileCapabilities(sharerMaster, newFileId())
    const json = JSON.stringify({ version, kind: 'tree', treeId: fileIdToString(newFileId()), revision: 1, root, entries, writer: hex(caps.write.publicKey) })
    const pieces = sharedPieceCodec(caps.read, caps.write).seal(signBody(TREE_SIGNATURE_LABEL, caps.write, new TextEncoder().encode(json)), 1)
    const store = await federation.openStore('p1')
    const commitment = commitmentToDecimal(poseidonCommitment(manifestSecret(caps.read.readRoot)))
    const deleteCommitment = commitmentToDecimal(poseidonCommitment(7n))
    for (const data of pieces) await store.store({ chunkId: chunkIdOf(data), commitment, deleteCommitment, data })
    return encodeShareCode(caps.read)
  }

  const file = (name: string): unknown[] => [name, 'file', 14, 0o644, 0, fileRead.readRoot, fileRead.writerPin]

  it('a listing whose root is a file writes nothing beside the output directory', async () => {
    const code = await hostileShare('album', [file('album')])
    const work = join(dir.path, 'w1')
    await mkdir(work)
    await assert.rejects(friend.receive(code, { cwd: work }, quiet))
    assert.deepEqual((await readdir(work)).filter((n) => n !== 'album'), [], 'nothing written beside the output directory')
  })

  it('the decoder refuses a root that is a file, and an entry below a file', () => {
    const listing = (root: string, entries: unknown[]): Uint8Array => new TextEncoder().encode(JSON.stringify({
      version: 2, kind: 'tree', treeId: fileIdToString(newFileId()), revision: 1, root, entries, writer: '00'.repeat(32)
    }))
    assert.throws(() => decodeTreeListing(listing('album', [file('album')])), { name: 'InvalidTreeListingError' })
    assert.throws(() => decodeTreeListing(listing('album', [file('album/a'), file('album/a/b')])), { name: 'InvalidTreeListingError' })
    assert.throws(() => decodeTreeListing(listing('album', [file('album/a/b'), file('album/a')])), { name: 'InvalidTreeListingError' })
    assert.throws(() => decodeTreeListing(listing('album', [file('album/a'), ['album/a/d', 'directory', 0, 0o755, 0]])), { name: 'InvalidTreeListingError' })
    // a directory above a file, and a sibling whose name only starts like it, are fine
    const ok = decodeTreeListing(listing('album', [['album', 'directory', 0, 0o755, 0], ['album/a', 'directory', 0, 0o755, 0], file('album/a/b'), file('album/ab')]))
    assert.equal(ok.entries.length, 4)
  })

  it('a file and an entry below it: receive fails without writing beside the output directory', async () => {
    const code = await hostileShare('album', [file('album/a'), file('album/a/b')])
    const work = join(dir.path, 'w2')
    await mkdir(work)
    await assert.rejects(friend.receive(code, { cwd: work }, quiet))
    await assert.rejects(stat(join(work, 'album')), { code: 'ENOENT' }, 'the listing is refused before anything is written')
  })

  it('links: refused in version 2, below them nothing may lie, a target must be storable', () => {
    const listing = (entries: unknown[], version = 3): Uint8Array => new TextEncoder().encode(JSON.stringify({
      version, kind: 'tree', treeId: fileIdToString(newFileId()), revision: 1, root: 'album', entries, writer: '00'.repeat(32)
    }))
    const link = (name: string, target: unknown): unknown[] => [name, 'symlink', 0, 0o777, 0, target]
    assert.equal(decodeTreeListing(listing([link('album/l', '/etc')])).entries[0]!.kind, 'symlink')
    assert.throws(() => decodeTreeListing(listing([link('album/l', '/etc')], 2)), { name: 'InvalidTreeListingError' })
    assert.throws(() => decodeTreeListing(listing([link('album/l', '/etc'), file('album/l/passwd')])), { name: 'InvalidTreeListingError' })
    assert.throws(() => decodeTreeListing(listing([link('album/l', '')])), { name: 'InvalidTreeListingError' })
    assert.throws(() => decodeTreeListing(listing([link('album/l', 'a\0b')])), { name: 'InvalidTreeListingError' })
    assert.throws(() => decodeTreeListing(listing([['album/l', 'symlink', 0, 0o777, 0]])), { name: 'InvalidTreeListingError' })
    assert.throws(() => decodeTreeListing(listing([link('album', '/etc')])), { name: 'InvalidTreeListingError' }, 'the root is a directory')
  })

  it('a link to outside is restored as a link: nothing is written where it points', async () => {
    const outside = join(dir.path, 'outside')
    await mkdir(outside)
    const code = await hostileShare('album', [['album/evil', 'symlink', 0, 0o777, 0, outside], file('album/payload.txt')], 3)
    const out = join(dir.path, 'w3')
    await friend.receive(code, { cwd: dir.path, output: out }, quiet)
    assert.equal(await readlink(join(out, 'evil')), outside)
    assert.equal(await readFile(join(out, 'payload.txt'), 'utf8'), 'attacker bytes')
    assert.deepEqual(await readdir(outside), [])
  })
})
