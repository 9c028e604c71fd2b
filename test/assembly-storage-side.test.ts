import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, beforeEach, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { silentLoggerFactory } from '../src/adapters/logging/stderr-logger.ts'
import { loadProofArtefacts } from '../src/adapters/proof/artefacts.ts'
import { SnarkjsVerifier } from '../src/adapters/proof/snarkjs-verifier.ts'
import { startBareHost } from '../src/assembly/host.ts'
import { openStorageSide, type StorageSide, type StorageSideInit } from '../src/assembly/storage-side.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { commitmentToDecimal, poseidonCommitment } from '../src/domain/proofs/poseidon-commitment.ts'
import { tempDir } from './helpers/temp-dir.ts'
import { waitFor } from './helpers/wait-for.ts'

const COMMITMENT = commitmentToDecimal(poseidonCommitment(42n))
const FROM = '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo'

async function filesUnder (dir: string): Promise<Buffer[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  return Promise.all(entries.filter((e) => e.isFile()).map(async (e) => readFile(join(e.parentPath, e.name))))
}

describe('the storage half', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  let init: StorageSideInit
  const open: StorageSide[] = []
  const opened = async (over: Partial<StorageSideInit> = {}): Promise<StorageSide> => {
    const side = await openStorageSide({ ...init, ...over })
    open.push(side)
    return side
  }

  let n = 0
  before(async () => { dir = await tempDir() })
  beforeEach(() => {
    const node = join(dir.path, `node-${n++}`)
    init = {
      chunksDir: join(node, 'chunks'),
      metadataDir: join(node, 'metadata'),
      atRestKey: randomBytes(32),
      capacity: 1e9,
      peerQuota: 1e9,
      loggers: silentLoggerFactory
    }
  })
  after(async () => {
    for (const side of open) await side.stop() // stop is idempotent: sides a test stopped already cost nothing
    await dir.cleanup()
  })

  it('wraps the disk in at-rest encryption: no plaintext on disk, and another node key opens nothing', async () => {
    const side = await opened()
    const data = Buffer.from('a chunk the owner already encrypted, but the disk must not show it either '.repeat(20))
    const chunkId = chunkIdOf(data)
    await side.storage.store({ chunkId, commitment: COMMITMENT, deleteCommitment: COMMITMENT, data, from: FROM })
    const onDisk = await filesUnder(init.chunksDir)
    assert.ok(onDisk.length > 0)
    assert.ok(onDisk.every((bytes) => !bytes.includes(data.subarray(0, 32))), 'no file holds the bytes as sent')
    await side.stop()

    const foreign = await opened({ atRestKey: randomBytes(32) })
    await assert.rejects(foreign.chunkStore.get(chunkId), { name: 'AtRestDecryptionError' })
    await foreign.stop()
  })

  it('collects orphans (bytes without a record) in the background when it opens, and keeps recorded chunks', async () => {
    const first = await opened()
    const kept = randomBytes(1000)
    await first.storage.store({ chunkId: chunkIdOf(kept), commitment: COMMITMENT, deleteCommitment: COMMITMENT, data: kept, from: FROM })
    // what a crash between the chunk write and its record leaves behind
    const orphan = randomBytes(1000)
    await first.chunkStore.put(chunkIdOf(orphan), orphan)
    await first.stop()

    const second = await opened()
    await waitFor(async () => !await second.chunkStore.has(chunkIdOf(orphan)), { what: 'the orphan to be collected', timeoutMs: 10_000 })
    assert.ok(Buffer.from(await second.chunkStore.get(chunkIdOf(kept))).equals(kept), 'the recorded chunk is kept')
    await second.stop()
  })

  it('refuses a second half on the same directories, and the first goes on', async () => {
    const first = await opened()
    await assert.rejects(openStorageSide(init), (err: Error) => err.name === 'DataDirError' && /another daemon/.test(err.message))
    const data = randomBytes(100)
    await first.storage.store({ chunkId: chunkIdOf(data), commitment: COMMITMENT, deleteCommitment: COMMITMENT, data, from: FROM })
    assert.ok(await first.chunkStore.has(chunkIdOf(data)))
    await first.stop()
  })

  it('serves once; stop removes the handlers before the stores close', async () => {
    const verifier = await SnarkjsVerifier.create({ verificationKey: (await loadProofArtefacts()).verificationKey })
    const privateKey = await generateKeyPair('Ed25519')
    const host = await startBareHost({ privateKey })
    try {
      const side = await opened()
      const before = host.getProtocols().length
      await side.serve({ host, privateKey, verifier })
      assert.equal(host.getProtocols().length, before + 6, 'store, retrieve and delete are on the host, v2 and the v1 refusals')
      await assert.rejects(side.serve({ host, privateKey, verifier }), { name: 'AlreadyServedError' })
      assert.equal(host.getProtocols().length, before + 6, 'the refused second serve left the first handlers in place')
      await side.stop()
      assert.equal(host.getProtocols().length, before, 'stop took the handlers off the host')
      await assert.rejects(side.chunkStore.has(chunkIdOf(randomBytes(8))), { name: 'ClosedError' })
    } finally {
      await host.stop()
      await verifier.close()
    }
  })
})
