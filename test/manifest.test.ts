import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { parseFileId, type FileId } from '../src/domain/formats/file-id.ts'
import { manifestKey } from '../src/domain/crypto/key-derivation.ts'
import { ownerFileCapabilities, writeKeyOf, type OwnerFileCapabilities, type WriteKey } from '../src/domain/capabilities/file-capabilities.ts'
import { signBody } from '../src/domain/capabilities/signed-body.ts'
import {
  decodeManifest, encodeManifest, MANIFEST_SIGNATURE_LABEL, manifestPieceAad, newestManifest, openManifest, PIECE_SIGNATURE_LABEL, sealManifest,
  sharedPieceCodec, validateManifest, type Manifest
} from '../src/domain/formats/manifest.ts'
import { CATALOGUE_SIGNATURE_LABEL } from '../src/domain/formats/catalogue.ts'
import { generateMasterSecret } from '../src/domain/crypto/master-secret.ts'
import { OwnerChunkCipher } from '../src/domain/crypto/owner-layer.ts'
import { CHUNK_SIZE } from '../src/domain/formats/chunker.ts'
import type { PieceSignature } from '../src/domain/formats/sealed-pieces.ts'
import { fakeChunkId, fakePeerId, makeManifest, sealRawPieces, type ManifestShape } from './helpers/owner-fixtures.ts'

const utf8 = (value: unknown): Uint8Array => Buffer.from(JSON.stringify(value))
const wireOf = (m: Manifest): Record<string, unknown> => JSON.parse(Buffer.from(encodeManifest(m)).toString()) as Record<string, unknown>
const invalid = { name: 'InvalidManifestError', code: 'invalid-manifest' }
const badSignature = { name: 'ManifestSignatureError', code: 'manifest-signature' }
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

/** A file of a fresh owner with a manifest naming its write key, ready to seal. */
function ownedFile (shape: ManifestShape = {}): { caps: OwnerFileCapabilities, fileId: FileId, manifest: Manifest } {
  const probe = makeManifest(shape)
  const fileId = parseFileId(probe.fileId)
  const caps = ownerFileCapabilities(generateMasterSecret(), fileId)
  return { caps, fileId, manifest: { ...probe, writer: hex(caps.write.publicKey) } }
}

/**
 * What anyone holding the read root can do: seal any body as a manifest, its pieces
 * signed by a key of its own (it has no other).
 */
const sealAsReader = (readRoot: Uint8Array, body: Uint8Array, revision: number): Uint8Array[] =>
  sealRawPieces(manifestKey(readRoot), manifestPieceAad(), body, revision, pieceSignature(writeKeyOf(randomBytes(32))))

/** What a buggy owner could write: any body, its pieces signed by the owner's own write key. */
const sealAsWriter = (caps: OwnerFileCapabilities, body: Uint8Array, revision: number): Uint8Array[] =>
  sealRawPieces(manifestKey(caps.read.readRoot), manifestPieceAad(), body, revision, pieceSignature(caps.write))

const pieceSignature = (writer: WriteKey): PieceSignature => ({ label: PIECE_SIGNATURE_LABEL, writer, accept: () => true, refuse: (reason) => new Error(reason) })

const signed = (key: WriteKey, m: Manifest, label = MANIFEST_SIGNATURE_LABEL): Uint8Array => signBody(label, key, encodeManifest(m))

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
      ['version 1', (w) => { w.version = 1 }],
      ['version 3', (w) => { w.version = 3 }],
      ['unknown field', (w) => { w.extra = 1 }],
      ['missing field', (w) => { delete w.mode }],
      ['upper-case file id', (w) => { w.fileId = w.fileId.toUpperCase() }],
      ['short file id', (w) => { w.fileId = 'abcd' }],
      ['negative revision', (w) => { w.revision = -1 }],
      ['absolute name', (w) => { w.name = '/etc/passwd' }],
      ['climbing name', (w) => { w.name = 'a/../../b' }],
      ['name with a directory: the owner\'s path', (w) => { w.name = 'photos/2024/a.jpg' }],
      ['name ..', (w) => { w.name = '..' }],
      ['NUL in name', (w) => { w.name = 'a\0b' }],
      ['long name', (w) => { w.name = 'a'.repeat(256) }],
      ['delete commitment missing', (w) => { delete w.deleteCommitment }],
      ['delete commitment as a number', (w) => { w.deleteCommitment = 12345 }],
      ['delete commitment not decimal', (w) => { w.deleteCommitment = '0x1f' }],
      ['writer missing', (w) => { delete w.writer }],
      ['writer short', (w) => { w.writer = w.writer.slice(2) }],
      ['writer upper case', (w) => { w.writer = w.writer.toUpperCase() }],
      ['writer not hex', (w) => { w.writer = 'z'.repeat(64) }],
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

  it('seals into signed pieces that open only with the read capability, also from a share code', () => {
    const { caps, fileId, manifest } = ownedFile({ size: 20_000, chunkSize: 1 }) // 20,000 chunks: more than one piece
    const pieces = sealManifest(manifest, caps.read, caps.write)
    assert.ok(pieces.length >= 2)
    assert.deepEqual(openManifest([...pieces].reverse(), caps.read, fileId), manifest)
    assert.deepEqual(openManifest(pieces, { ...caps.read }), manifest, 'the file id check is optional')
    const stranger = ownerFileCapabilities(generateMasterSecret(), fileId)
    assert.throws(() => openManifest(pieces, stranger.read, fileId), { name: 'ManifestDecryptionError', code: 'manifest-decryption' })
    assert.throws(() => openManifest(pieces.slice(1), caps.read, fileId), invalid)
    assert.throws(() => openManifest([], caps.read, fileId), invalid)
    assert.throws(() => openManifest(pieces, { readRoot: new Uint8Array(32), writerPin: caps.read.writerPin }, fileId), { name: 'InvalidInputError' })
    assert.throws(() => openManifest(pieces, { readRoot: caps.read.readRoot, writerPin: new Uint8Array(8) }, fileId), { name: 'InvalidInputError' })
  })

  it('never opens as a data chunk of the file, nor a data chunk as a manifest piece', () => {
    const { caps, fileId, manifest } = ownedFile({ size: 10 })
    const [piece] = sealManifest(manifest, caps.read, caps.write)
    const data = OwnerChunkCipher.forReadRoot(caps.read.readRoot, fileId)
    assert.throws(() => data.open(0, true, piece!), { name: 'ChunkDecryptionError' })
    assert.throws(() => openManifest([data.seal(0, true, encodeManifest(manifest))], caps.read, fileId), { name: 'ManifestDecryptionError' })
  })

  it('refuses a signed manifest whose content names another file (the piece AAD no longer carries the file id)', () => {
    const { caps, fileId, manifest } = ownedFile({ size: 10 })
    const other = { ...manifest, fileId: hex(randomBytes(16)) } // signed and sealed by this file's keys, naming another id
    const pieces = sealManifest(other, caps.read, caps.write)
    assert.throws(() => openManifest(pieces, caps.read, fileId), { ...invalid, message: /another file/ })
    assert.equal(newestManifest(pieces, caps.read, fileId), undefined)
  })

  it('seals only with the write key the capability pins, and only a manifest naming it', () => {
    const { caps, manifest } = ownedFile({ size: 10 })
    const reader = writeKeyOf(randomBytes(32))
    // a share-code holder with a key of its own: its manifest names it, the capability pins the owner's
    assert.throws(() => sealManifest({ ...manifest, writer: hex(reader.publicKey) }, caps.read, reader), { ...invalid, message: /pins another write key/ })
    assert.throws(() => sealManifest(manifest, caps.read, reader), { ...invalid, message: /writer is not the signing key/ })
  })

  it('refuses a manifest a reader forged: sealed with the right manifest key, signed by another key, whatever revision it claims', () => {
    const { caps, fileId, manifest } = ownedFile({ size: 3000, chunkSize: 1000 })
    const honest = sealManifest(manifest, caps.read, caps.write)
    const forger = writeKeyOf(randomBytes(32))
    const evil = { ...manifest, revision: 99, holders: manifest.holders.map(() => [fakePeerId()]), receipts: [] }
    // 1. names the forger's key as writer and signs with it: the pin does not match
    // whatever it writes, a reader signs its pieces with a key of its own: each is refused as it is opened
    const ownKey = sealAsReader(caps.read.readRoot, signed(forger, { ...evil, writer: hex(forger.publicKey) }), 99)
    assert.throws(() => openManifest(ownKey, caps.read, fileId), { ...badSignature, message: /key the capability does not name/ })
    const borrowed = sealAsReader(caps.read.readRoot, signed(forger, evil), 99)
    assert.throws(() => openManifest(borrowed, caps.read, fileId), { ...badSignature, message: /key the capability does not name/ })
    const bare = sealAsReader(caps.read.readRoot, encodeManifest(evil), 99)
    const zeros = sealAsReader(caps.read.readRoot, Buffer.concat([encodeManifest(evil), new Uint8Array(64)]), 99)
    for (const forged of [bare, zeros]) assert.throws(() => openManifest(forged, caps.read, fileId), { ...badSignature, message: /key the capability does not name/ })
    assert.ok([...ownKey, ...borrowed, ...bare, ...zeros].every((piece) => !sharedPieceCodec(caps.read).opens(piece)), 'no forged piece opens on its own')
    // the document's own signature still holds where the pieces' would not: even pieces the
    // owner's key signed are refused when the document names another writer, is signed by
    // another key, or carries no signature
    assert.throws(() => openManifest(sealAsWriter(caps, signed(forger, { ...evil, writer: hex(forger.publicKey) }), 99), caps.read, fileId), { ...badSignature, message: /key the capability does not name/ })
    assert.throws(() => openManifest(sealAsWriter(caps, signed(forger, evil), 99), caps.read, fileId), { ...badSignature, message: /does not verify/ })
    assert.throws(() => openManifest(sealAsWriter(caps, encodeManifest(evil), 99), caps.read, fileId), invalid)
    assert.throws(() => openManifest(sealAsWriter(caps, Buffer.concat([encodeManifest(evil), new Uint8Array(64)]), 99), caps.read, fileId), { ...badSignature, message: /does not verify/ })
    assert.throws(() => openManifest(sealAsWriter(caps, new Uint8Array(63), 99), caps.read, fileId), { ...badSignature, message: /carries no signature/ })
    for (const bag of [[...honest, ...ownKey], [...borrowed, ...honest], [...bare, ...zeros, ...honest, ...ownKey, ...borrowed]]) {
      assert.deepEqual(newestManifest(bag, caps.read, fileId), manifest, 'the owner-signed revision 1 wins over forged 99s')
    }
    assert.equal(newestManifest([...ownKey, ...borrowed, ...bare, ...zeros], caps.read, fileId), undefined)
  })

  it('refuses a tampered signature, a tampered document and a signature made for a catalogue', () => {
    const { caps, fileId, manifest } = ownedFile({ size: 10 })
    const body = signed(caps.write, manifest)
    assert.deepEqual(openManifest(sealAsWriter(caps, body, 1), caps.read, fileId), manifest, 'a good body in pieces the writer signed opens')
    assert.throws(() => openManifest(sealAsReader(caps.read.readRoot, body, 1), caps.read, fileId), badSignature, 'a good body in pieces a reader signed does not')
    for (const at of [body.byteLength - 1, body.byteLength - 33, body.byteLength - 64]) {
      const tampered = Uint8Array.from(body)
      tampered[at]! ^= 0x01
      assert.throws(() => openManifest(sealAsWriter(caps, tampered, 1), caps.read, fileId), badSignature, `signature byte ${at}`)
    }
    // same length, other content: mode 0o644 -> 0o645 in the document
    const document = Buffer.from(body.subarray(0, body.byteLength - 64)).toString().replace('"mode":420', '"mode":421')
    const edited = Buffer.concat([Buffer.from(document), body.subarray(body.byteLength - 64)])
    assert.throws(() => openManifest(sealAsWriter(caps, edited, 1), caps.read, fileId), { ...badSignature, message: /does not verify/ })
    const wrongLabel = signed(caps.write, manifest, CATALOGUE_SIGNATURE_LABEL)
    assert.throws(() => openManifest(sealAsWriter(caps, wrongLabel, 1), caps.read, fileId), badSignature)
  })

  it('refuses a signed manifest whose revision is not its pieces\' generation', () => {
    const { caps, fileId, manifest } = ownedFile({ size: 10 })
    const pieces = sealAsWriter(caps, signed(caps.write, manifest), 7)
    assert.throws(() => openManifest(pieces, caps.read, fileId), { ...invalid, message: /revision differs/ })
  })

  it('picks the newest signed revision among the pieces holders return', () => {
    const { caps, fileId, manifest: first } = ownedFile({ size: 3000, chunkSize: 1000 })
    assert.equal(first.revision, 1, 'the first write is revision 1')
    const second = { ...first, revision: 2, holders: first.holders.map(() => [fakePeerId()]), receipts: [] }
    const third = { ...second, revision: 3 }
    const seal = (m: Manifest): Uint8Array[] => sealManifest(m, caps.read, caps.write)
    const bag = [...seal(first), ...seal(second), ...seal(third).slice(0, 0), randomBytes(80)]
    assert.equal(newestManifest(bag, caps.read, fileId)?.revision, 2)
    assert.equal(newestManifest([...bag, ...seal(third)], caps.read, fileId)?.revision, 3)
    assert.equal(newestManifest([randomBytes(80)], caps.read, fileId), undefined)
    assert.equal(newestManifest(bag, ownerFileCapabilities(generateMasterSecret(), fileId).read, fileId), undefined)
    assert.equal(newestManifest(bag, caps.read, parseFileId(hex(randomBytes(16)))), undefined)
    // the same manifest sealed twice: one answer
    assert.deepEqual(newestManifest([...seal(second), ...seal(second)], caps.read, fileId), second)
  })
})
