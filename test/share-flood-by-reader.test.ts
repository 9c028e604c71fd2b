import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { silentLoggerFactory } from '../src/adapters/logging/stderr-logger.ts'
import { CatalogueService } from '../src/app/owner/catalogue-service.ts'
import { GATHER_MAX_BYTES } from '../src/app/owner/federation-pieces.ts'
import { OwnerService } from '../src/app/owner/owner-service.ts'
import { manifestSecret } from '../src/domain/crypto/key-derivation.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { sharedPieceCodec } from '../src/domain/formats/manifest.ts'
import { writeKeyOf } from '../src/domain/capabilities/file-capabilities.ts'
import { PIECE_BODY_BYTES } from '../src/domain/formats/sealed-pieces.ts'
import { decodeShareCode } from '../src/domain/formats/share-code.ts'
import { commitmentToDecimal, poseidonCommitment } from '../src/domain/proofs/poseidon-commitment.ts'
import { MemoryCache, MemoryFederation } from './helpers/memory-federation.ts'
import { tempDir } from './helpers/temp-dir.ts'

const quiet = (): void => {}

/**
 * One holder of a share code knows the manifest key, so it can seal pieces that open
 * under it and store 65 MiB of them under the manifest commitment, with ids that list
 * before the owner's (found by the review of protocol v2: the receiver's 64 MiB gather
 * budget was spent on them and the file denied to every other holder of the code).
 * Pieces are now signed one by one by the pinned writer: the flood is dropped piece by
 * piece as it arrives, and the budget holds only the owner's.
 */
describe('a share-code holder floods the manifest commitment with pieces that open', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  const federation = new MemoryFederation()
  const ownerOn = (master: Uint8Array): OwnerService => {
    const deps = { master, federation, log: silentLoggerFactory('test') }
    return new OwnerService(deps, new CatalogueService({ ...deps, cache: new MemoryCache(), replicas: 1 }))
  }
  const content = randomBytes(10_000)
  let code = ''

  before(async () => {
    dir = await tempDir()
    federation.addPeer('p1')
    const owner = ownerOn(randomBytes(32))
    await writeFile(join(dir.path, 'doc.bin'), content)
    await owner.put([join(dir.path, 'doc.bin')], 1, quiet)
    code = (await owner.share('doc.bin')).code

    const read = decodeShareCode(code)
    const secret = manifestSecret(read.readRoot)
    const commitment = commitmentToDecimal(poseidonCommitment(secret))
    const store = await federation.openStore('p1')
    const reader = await federation.openSession('p1', { action: 'read', secret })
    const genuine = await reader.list()
    const first = genuine.reduce((a, b) => (a < b ? a : b))
    // it can sign its pieces only with a key of its own
    const codec = sharedPieceCodec(read, writeKeyOf(randomBytes(32)))
    const body = new Uint8Array(PIECE_BODY_BYTES)
    let stored = 0
    while (stored * (PIECE_BODY_BYTES + 32) <= GATHER_MAX_BYTES + PIECE_BODY_BYTES) {
      const [data] = codec.seal(body, 2 ** 40)
      const id = chunkIdOf(data!)
      if (id >= first) continue
      await store.store({ chunkId: id, commitment, deleteCommitment: commitmentToDecimal(poseidonCommitment(12345n)), data: data! })
      stored++
    }
  })
  after(async () => { await dir.cleanup() })

  it('another holder of the code still receives the file', { timeout: 120_000 }, async () => {
    const friend = ownerOn(randomBytes(32))
    const out = join(dir.path, 'received.bin')
    await friend.receive(code, { cwd: dir.path, output: out }, quiet)
    assert.ok((await readFile(out)).equals(content))
  })
})
