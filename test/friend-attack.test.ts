import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { Libp2p } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { silentLoggerFactory } from '../src/adapters/logging/stderr-logger.ts'
import { loadProofArtefacts } from '../src/adapters/proof/artefacts.ts'
import { startBareHost } from '../src/assembly/host.ts'
import { startOwnerSide, type OwnerSide } from '../src/assembly/owner-side.ts'
import { writeKeyOf, type ReadCapability } from '../src/domain/capabilities/file-capabilities.ts'
import { signBody } from '../src/domain/capabilities/signed-body.ts'
import { contentKey, manifestKey, manifestSecret, retrievalSecret } from '../src/domain/crypto/key-derivation.ts'
import { OwnerChunkCipher } from '../src/domain/crypto/owner-layer.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { parseFileId } from '../src/domain/formats/file-id.ts'
import { encodeManifest, MANIFEST_SIGNATURE_LABEL, manifestPieceAad, PIECE_SIGNATURE_LABEL, newestManifest, type Manifest } from '../src/domain/formats/manifest.ts'
import { PieceCodec } from '../src/domain/formats/sealed-pieces.ts'
import { decodeShareCode } from '../src/domain/formats/share-code.ts'
import { commitmentToDecimal, poseidonCommitment } from '../src/domain/proofs/poseidon-commitment.ts'
import type { CliResult } from './helpers/node-process.ts'
import { ProcessFederation, sha256Of } from './helpers/process-federation.ts'

const MIB = 1024 * 1024

/**
 * The friend attack of protocol v1, over real processes: an owner (a) shares a file
 * stored on two holders (b, c); the friend, holding only the share code, stores a
 * forged manifest revision with forged data, and tries to delete every chunk and
 * manifest piece on every holder. The owner's get and a fresh receive still return
 * the original bytes, and every delete is refused.
 */
describe('a share-code holder can read, never write nor delete (3 node processes and an attacker)', () => {
  let fed: ProcessFederation
  const q = async (name: string, args: string[]): Promise<CliResult> => fed.cli(name, args)
  let attackerHost: Libp2p
  let attacker: OwnerSide
  let original = ''
  let fileId = ''
  let code = ''
  let rotatedId = ''

  before(async () => {
    fed = await ProcessFederation.create({ prefix: 'friend', names: ['a', 'b', 'c'] })
    await fed.start('b')
    await fed.startAll(['a', 'c'])
    await fed.waitForPeers('a', 2)

    const bytes = randomBytes(3 * MIB + 12345)
    await writeFile(join(fed.dir, 'report.pdf'), bytes)
    original = createHash('sha256').update(bytes).digest('hex')
    const put = await q('a', ['put', join(fed.dir, 'report.pdf'), '--replicas', '2', '--json'])
    assert.equal(put.code, 0, put.stderr)
    fileId = JSON.parse(put.stdout)[0].id
    const shared = await q('a', ['share', fileId, '--label', 'friend'])
    assert.equal(shared.code, 0, shared.stderr)
    code = shared.stdout.trim().split('\n').at(-1)!

    // the attacker: a node of its own, with nothing but the share code
    attackerHost = await startBareHost()
    const holders = ['b', 'c'].map((name) => fed.node(name).peerId)
    attacker = await startOwnerSide({
      host: attackerHost,
      master: randomBytes(32),
      artefacts: await loadProofArtefacts(),
      candidates: async () => holders.map((peerId) => ({ peerId, freeBytes: 1e9, reachable: true })),
      catalogueCachePath: join(fed.dir, 'attacker.cache'),
      loggers: silentLoggerFactory
    })
    for (const name of ['b', 'c']) {
      const addresses = (await fed.node(name).api<{ addresses: string[] }>('/v1/status')).addresses.filter((a) => a.includes('/ip4/127.0.0.1/'))
      await attackerHost.dial(multiaddr(addresses[0]!))
    }
  })

  after(async () => {
    await attacker?.stop()
    await attackerHost?.stop()
    await fed?.close()
  })

  it('stores a forged manifest revision, deletes nothing, and the owner and a fresh receiver still get the original', async () => {
    assert.equal(code.length, 74, 'the v2 code fits an 80-column line')
    const read = decodeShareCode(code)
    const holders = ['b', 'c'].map((name) => fed.node(name).peerId)
    const genuine = await readGenuineManifest(attacker, holders[0]!, read)
    assert.equal(genuine.fileId, fileId)
    assert.equal(genuine.name, 'report.pdf', 'the receiver learns the name, not the owner\'s path')

    // 1. write: a new revision pointing at forged data, sealed with the right keys, in two
    //    spellings: signed by the friend's own key, and claiming the owner's key
    const forgedData = new OwnerChunkCipher(contentKey(read.readRoot), parseFileId(genuine.fileId)).seal(0, true, new TextEncoder().encode('forged by a friend'))
    const friendKey = writeKeyOf(randomBytes(32))
    const friendDelete = commitmentToDecimal(poseidonCommitment(12345n))
    const forged: Manifest = { ...genuine, revision: genuine.revision + 100, size: 18, chunkSize: genuine.chunkSize, chunks: [{ id: chunkIdOf(forgedData), size: 18 }], holders: [holders], receipts: [] }
    // the strongest it can do: pieces that open under the manifest key, each signed by a key of its own
    const codec = new PieceCodec({
      key: manifestKey(read.readRoot), aad: manifestPieceAad(), maxPieces: 512, undecryptable: () => new Error('x'), invalid: () => new Error('x'),
      signature: { label: PIECE_SIGNATURE_LABEL, writer: friendKey, accept: () => true, refuse: () => new Error('x') }
    })
    const ownKeyForgery = codec.seal(signBody(MANIFEST_SIGNATURE_LABEL, friendKey, encodeManifest({ ...forged, writer: Buffer.from(friendKey.publicKey).toString('hex') })), forged.revision)
    const claimedKeyForgery = codec.seal(signBody(MANIFEST_SIGNATURE_LABEL, friendKey, encodeManifest(forged)), forged.revision + 1)
    const dataCommitment = commitmentToDecimal(poseidonCommitment(retrievalSecret(read.readRoot)))
    const manifestCommitment = commitmentToDecimal(poseidonCommitment(manifestSecret(read.readRoot)))
    for (const holder of holders) {
      const store = await attacker.federation.openStore(holder)
      // the storage node cannot tell: it stores them, as it would anyone's bytes
      await store.store({ chunkId: chunkIdOf(forgedData), commitment: dataCommitment, deleteCommitment: friendDelete, data: forgedData })
      for (const piece of [...ownKeyForgery, ...claimedKeyForgery]) {
        await store.store({ chunkId: chunkIdOf(piece), commitment: manifestCommitment, deleteCommitment: friendDelete, data: piece })
      }
      await store.close()
    }

    // 2. delete: every chunk and manifest piece, on every holder, with every secret the code gives
    const pieceIds = await (await attacker.federation.openSession(holders[0]!, { action: 'read', secret: manifestSecret(read.readRoot) })).list()
    const targets = [...genuine.chunks.map((c) => c.id), ...pieceIds]
    let refused = 0
    for (const holder of holders) {
      for (const secret of [retrievalSecret(read.readRoot), manifestSecret(read.readRoot)]) {
        const session = await attacker.federation.openSession(holder, { action: 'delete', secret })
        for (const id of targets) {
          await assert.rejects(session.delete(id), { name: 'NotFoundError' }, `delete of ${id} on ${holder}`)
          refused++
        }
        await session.close()
      }
    }
    assert.equal(refused, holders.length * 2 * targets.length)

    // 3. the owner's get and a fresh receive on another node still give the original bytes
    const got = await q('a', ['get', fileId, '-o', join(fed.dir, 'owner-copy.pdf')])
    assert.equal(got.code, 0, got.stderr)
    assert.equal(await sha256Of(join(fed.dir, 'owner-copy.pdf')), original)
    const received = await q('c', ['receive', code, '-o', join(fed.dir, 'friend-copy.pdf')])
    assert.equal(received.code, 0, received.stderr)
    assert.equal(await sha256Of(join(fed.dir, 'friend-copy.pdf')), original)
  })

  it('after unshare the old code fetches nothing and a new code works', async () => {
    const listed = await q('a', ['shares', '--json'])
    assert.equal(listed.code, 0, listed.stderr)
    assert.deepEqual(JSON.parse(listed.stdout).map((e: { fileId: string, shares: Array<{ label: string }> }) => [e.fileId, e.shares.map((s) => s.label)]), [[fileId, ['friend']]])
    const revoked = await q('a', ['unshare', fileId, '--json'])
    assert.equal(revoked.code, 0, revoked.stderr)
    const rotation = JSON.parse(revoked.stdout)
    assert.notEqual(rotation.fileId, fileId)
    assert.deepEqual(rotation.unreachable, [])
    const old = await q('c', ['receive', code, '-o', join(fed.dir, 'after-revocation.pdf')])
    assert.notEqual(old.code, 0, 'the revoked code still fetched the file')
    assert.match(old.stderr, /revoked|no manifest/)
    const again = await q('a', ['share', rotation.fileId])
    const fresh = again.stdout.trim().split('\n').at(-1)!
    assert.notEqual(fresh, code)
    const received = await q('c', ['receive', fresh, '-o', join(fed.dir, 'new-code.pdf')])
    assert.equal(received.code, 0, received.stderr)
    assert.equal(await sha256Of(join(fed.dir, 'new-code.pdf')), original)
    assert.equal((await q('a', ['shares', '--json'])).stdout.includes(fileId), false, 'the revoked file is no longer listed as shared')
    rotatedId = rotation.fileId
  })

  it('a short code read out hands the capability over once, through the federation', async () => {
    const shared = await q('a', ['share', rotatedId, '--short', '5m', '--json'])
    assert.equal(shared.code, 0, shared.stderr)
    const short: string = JSON.parse(shared.stdout).shortCode.code
    assert.match(short, /^[0-9]{1,3}(-[a-z]+){3}$/)
    const [number, ...words] = short.split('-')
    const wrong = [number, ...words.slice(0, 2), words[2] === 'zoo' ? 'abandon' : 'zoo'].join('-')
    const refused = await q('c', ['receive', wrong, '-o', join(fed.dir, 'wrong.pdf')])
    assert.notEqual(refused.code, 0, 'a wrong short code fetched something')
    assert.doesNotMatch(refused.stderr, /Q2-/, 'nothing of the capability shows')
    const received = await q('c', ['receive', short, '-o', join(fed.dir, 'by-short-code.pdf')])
    assert.equal(received.code, 0, received.stderr)
    assert.equal(await sha256Of(join(fed.dir, 'by-short-code.pdf')), original)
    const again = await q('c', ['receive', short, '-o', join(fed.dir, 'twice.pdf')])
    assert.equal(again.code, 9, `a short code works once: ${again.stderr}`)
  })
})

async function readGenuineManifest (side: OwnerSide, holder: string, read: ReadCapability): Promise<Manifest> {
  const session = await side.federation.openSession(holder, { action: 'read', secret: manifestSecret(read.readRoot) })
  const pieces = await Promise.all((await session.list()).map(async (id) => session.get(id)))
  await session.close()
  const manifest = newestManifest(pieces, read)
  assert.ok(manifest !== undefined, 'the friend can read the genuine manifest')
  return manifest
}
