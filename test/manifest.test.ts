import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { parseFileId } from '../src/domain/formats/file-id.ts'
import { fileRoot } from '../src/domain/crypto/key-derivation.ts'
import {
  decodeManifest, encodeManifest, newestManifest, openManifest, sealManifest, validateManifest, type Manifest
} from '../src/domain/formats/manifest.ts'
import { generateMasterSecret } from '../src/domain/crypto/master-secret.ts'
import { OwnerChunkCipher } from '../src/domain/crypto/owner-layer.ts'
import { CHUNK_SIZE } from '../src/domain/formats/chunker.ts'
import { fakeChunkId, fakePeerId, makeManifest } from './helpers/owner-fixtures.ts'

const utf8 = (value: unknown): Uint8Array => Buffer.from(JSON.stringify(value))
const wireOf = (m: Manifest): Record<string, unknown> => JSON.parse(Buffer.from(encodeManifest(m)).toString()) as Record<string, unknown>
const invalid = { name: 'InvalidManifestError', code: 'invalid-manifest' }

describe('manifest', () => {
  it('round-trips through its encoding, with chunk sizes implied and peers written once', () => {
    for (const shape of [{}, { size: 0 }, { size: 1 }, { size: CHUNK_SIZE }, { size: CHUNK_SIZE + 1, receipts: false }, { size: 10, chunkSize: 3, holdersPerChunk: 0 }]) {
      const manifest = makeManifest(shape)
      const bytes = encodeManifest(manifest)
      assert.deepEqual(decodeManifest(bytes), manifest)
      assert.deepEqual(validateManifest(manifest), manifest)
      const wire = wireOf(manifest)
      assert.deepEqual(wire.chunks, manifest.chunks.map((c) => c.id))
      assert.equal(new Set(wire.peers as string[]).size, (wire.peers as string[]).length)
    }
  })

  it('stays compact: a 10 GB file with 3 holders and 3 receipts per chunk is under 5 pieces of 1 MiB', () => {
    const manifest = makeManifest({ size: 10e9 })
    const bytes = encodeManifest(manifest)
    assert.equal(manifest.chunks.length, 9537)
    assert.ok(bytes.byteLength < 5 * CHUNK_SIZE, `${bytes.byteLength} bytes`)
    assert.deepEqual(decodeManifest(bytes), manifest)
  })

  it('refuses every malformed field, on decode and on encode alike', () => {
    const good = makeManifest({ size: 2_500_000 })
    const mutations: Array<[string, (w: Record<string, any>) => void]> = [
      ['version 2', (w) => { w.version = 2 }],
      ['unknown field', (w) => { w.extra = 1 }],
      ['missing field', (w) => { delete w.mode }],
      ['upper-case file id', (w) => { w.fileId = w.fileId.toUpperCase() }],
      ['short file id', (w) => { w.fileId = 'abcd' }],
      ['negative revision', (w) => { w.revision = -1 }],
      ['absolute name', (w) => { w.name = '/etc/passwd' }],
      ['climbing name', (w) => { w.name = 'a/../../b' }],
      ['NUL in name', (w) => { w.name = 'a\0b' }],
      ['long name', (w) => { w.name = 'a/'.repeat(2048) + 'b' }],
      ['kind directory', (w) => { w.kind = 'directory' }],
      ['fractional size', (w) => { w.size = 1.5 }],
      ['size beyond the chunks', (w) => { w.size += 1024 * 1024 }],
      ['size short of the chunks', (w) => { w.size -= 500_000 }],
      ['mode with file type bits', (w) => { w.mode = 0o100644 }],
      ['mtime as text', (w) => { w.mtimeMs = '1700000000000' }],
      ['chunk size 0', (w) => { w.chunkSize = 0 }],
      ['chunk size above 1 MiB', (w) => { w.chunkSize = CHUNK_SIZE + 1 }],
      ['non-canonical chunk id', (w) => { w.chunks[0] = w.chunks[0].toUpperCase() }],
      ['repeated chunk id', (w) => { w.chunks[1] = w.chunks[0] }],
      ['holders list missing', (w) => { w.holders.pop() }],
      ['holder index out of range', (w) => { w.holders[0] = [w.peers.length] }],
      ['holder repeated', (w) => { w.holders[0] = [0, 0] }],
      ['bad peer id', (w) => { w.peers[0] = 'not/a peer' }],
      ['repeated peer id', (w) => { w.peers.push(w.peers[0]) }],
      ['unused peer id', (w) => { w.peers.push(fakePeerId()) }],
      ['receipt chunk out of range', (w) => { w.receipts[0][1] = 3 }],
      ['receipt with 3 fields', (w) => { w.receipts[0].pop() }],
      ['receipt signature not base64', (w) => { w.receipts[0][3] = 'not base64!' }],
      ['receipt signature not canonical', (w) => { w.receipts[0][3] = w.receipts[0][3].slice(0, -3) + 'B==' }],
      ['receipt time negative', (w) => { w.receipts[0][2] = -5 }]
    ]
    for (const [what, mutate] of mutations) {
      const wire = wireOf(good)
      mutate(wire)
      assert.throws(() => decodeManifest(utf8(wire)), invalid, what)
    }
    for (const bytes of [new Uint8Array(0), Buffer.from('null'), Buffer.from('[]'), Buffer.from('{'), Uint8Array.of(0xff, 0xfe),
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), encodeManifest(good)])]) {
      assert.throws(() => decodeManifest(bytes), invalid)
    }
    const badObjects: Array<(m: Manifest) => void> = [
      (m) => { m.chunks[0]!.size = 1 },
      (m) => { m.receipts[0]!.chunkId = fakeChunkId() },
      (m) => { m.holders[0] = ['x y'] },
      (m) => { m.mtimeMs = Number.NaN },
      (m) => { (m as any).chunks = null }
    ]
    for (const mutate of badObjects) {
      const m = makeManifest()
      mutate(m)
      assert.throws(() => encodeManifest(m), invalid)
    }
  })

  it('seals into pieces that open only with the file root and file id, also from a share code', () => {
    const master = generateMasterSecret()
    const manifest = makeManifest({ size: 20_000, chunkSize: 1 }) // 20,000 chunks: more than one piece
    const fileId = parseFileId(manifest.fileId)
    const root = fileRoot(master, fileId)
    const pieces = sealManifest(manifest, root)
    assert.ok(pieces.length >= 2)
    assert.deepEqual(openManifest([...pieces].reverse(), root, fileId), manifest)
    assert.throws(() => openManifest(pieces, fileRoot(master, randomBytes(16)), fileId), { name: 'ManifestDecryptionError', code: 'manifest-decryption' })
    assert.throws(() => openManifest(pieces, root, randomBytes(16)), { name: 'ManifestDecryptionError' })
    assert.throws(() => openManifest(pieces.slice(1), root, fileId), invalid)
    assert.throws(() => openManifest([], root, fileId), invalid)
    assert.throws(() => openManifest(pieces, new Uint8Array(16), fileId), { name: 'InvalidInputError' })
  })

  it('never opens as a data chunk of the file, nor a data chunk as a manifest piece', () => {
    const master = generateMasterSecret()
    const manifest = makeManifest({ size: 10 })
    const fileId = parseFileId(manifest.fileId)
    const root = fileRoot(master, fileId)
    const [piece] = sealManifest(manifest, root)
    const data = OwnerChunkCipher.forFileRoot(root, fileId)
    assert.throws(() => data.open(0, true, piece!), { name: 'ChunkDecryptionError' })
    assert.throws(() => openManifest([data.seal(0, true, encodeManifest(manifest))], root, fileId), { name: 'ManifestDecryptionError' })
  })

  it('refuses a sealed manifest whose content names another file', () => {
    const master = generateMasterSecret()
    const fileId = randomBytes(16)
    const root = fileRoot(master, fileId)
    const other = makeManifest({ size: 10 }) // its own file id, sealed under this file's root
    assert.throws(() => openManifest(sealManifest(other, root), root, fileId), { name: 'ManifestDecryptionError' })
  })

  it('picks the newest revision among the pieces holders return', () => {
    const master = generateMasterSecret()
    const first = makeManifest({ size: 3000, chunkSize: 1000 })
    const fileId = parseFileId(first.fileId)
    const root = fileRoot(master, fileId)
    const second = { ...first, revision: 1, holders: first.holders.map(() => [fakePeerId()]), receipts: [] }
    const third = { ...second, revision: 2 }
    const bag = [...sealManifest(first, root), ...sealManifest(second, root), ...sealManifest(third, root).slice(0, 0), randomBytes(80)]
    assert.equal(newestManifest(bag, root, fileId)?.revision, 1)
    assert.equal(newestManifest([...bag, ...sealManifest(third, root)], root, fileId)?.revision, 2)
    assert.equal(newestManifest([randomBytes(80)], root, fileId), undefined)
    assert.equal(newestManifest(bag, fileRoot(master, randomBytes(16)), fileId), undefined)
  })
})
