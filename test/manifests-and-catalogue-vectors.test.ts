import assert from 'node:assert/strict'
import { createDecipheriv, createHash, createHmac, createPrivateKey, createPublicKey, hkdfSync, verify } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { decodeCatalogue, newestCatalogue, openCatalogue, type Catalogue } from '../src/domain/formats/catalogue.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { decodeManifest, newestManifest, openManifest, type Manifest } from '../src/domain/formats/manifest.ts'
import { decodeShareCode, encodeShareCode } from '../src/domain/formats/share-code.ts'
import { parseFileId } from '../src/domain/formats/file-id.ts'
import { decodeTreeListing, newestTreeListing } from '../src/domain/formats/tree-listing.ts'
import { catalogueDeleteSecret, catalogueSecret, deleteSecret, manifestSecret, retrievalSecret } from '../src/domain/crypto/key-derivation.ts'
import { commitmentToDecimal, poseidonCommitment } from '../src/domain/proofs/poseidon-commitment.ts'

interface Forgery { why: string, signer: string, signerPin: string, document: string, pieces: string[], edition: string }
const vectors = JSON.parse(readFileSync(new URL('./vectors/manifests-and-catalogue.json', import.meta.url), 'utf8')) as {
  master: string
  catalogue: {
    catalogueKey: string, aad: string, writeKeySeed: string, writer: string, readCommitment: string, deleteCommitment: string,
    signatureLabel: string, document: string, signature: string, edition: string, pieces: string[], value: Catalogue,
    contentHashKey: string, content: string
  }
  manifest: {
    fileId: string, fileRoot: string, readRoot: string, manifestKey: string, aad: string, writeKeySeed: string, writer: string,
    writerPin: string, readCommitment: string, manifestCommitment: string, deleteCommitment: string, signatureLabel: string,
    document: string, signature: string, edition: string, pieces: string[], value: Manifest, forgeries: Forgery[]
  }
  tree: {
    treeId: string, readRoot: string, manifestKey: string, writer: string, writerPin: string, manifestCommitment: string, deleteCommitment: string,
    signatureLabel: string, document: string, signature: string, edition: string, pieces: string[], code: string,
    forgeries: Array<{ why: string, signer: string, document: string, pieces: string[], edition: string }>
  }
  shareCode: { readRoot: string, writerPin: string, code: string, v1Code: string }
}
const bytes = (text: string): Buffer => Buffer.from(text, 'hex')
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const m = vectors.manifest
const c = vectors.catalogue

// --- the spec with node:crypto alone (key-derivation.md, manifests-and-catalogue.md) ---

const EMPTY = Buffer.alloc(0)
const hkdf = (root: Uint8Array, label: string, context: Uint8Array, length: number): Buffer =>
  Buffer.from(hkdfSync('sha256', root, EMPTY, Buffer.concat([Buffer.from(label, 'ascii'), Buffer.from([0]), context]), length))
const ed25519PublicKey = (seed: Uint8Array): Buffer => {
  const spki = createPublicKey(createPrivateKey({ key: Buffer.concat([bytes('302e020100300506032b657004220420'), seed]), format: 'der', type: 'pkcs8' }))
    .export({ format: 'der', type: 'spki' })
  return spki.subarray(spki.byteLength - 32)
}
const ed25519Verify = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean =>
  verify(null, message, createPublicKey({ key: Buffer.concat([bytes('302a300506032b6570032100'), publicKey]), format: 'der', type: 'spki' }), signature)
const pinOf = (publicKey: Uint8Array): Buffer =>
  createHash('sha256').update(Buffer.concat([Buffer.from('quloud/v2/writer-pin\0', 'ascii'), publicKey])).digest().subarray(0, 16)

/** "Reading" of a share code: compact, aliases, optional prefix, base32, padding, checksum, version. */
function readShareCodeBySpec (text: string): { readRoot: Buffer, writerPin: Buffer } {
  let compact = text.replace(/[\s-]+/g, '').toUpperCase().replace(/[IL]/g, '1').replace(/O/g, '0')
  if (compact.length === 62) { assert.ok(compact.startsWith('Q2')); compact = compact.slice(2) }
  assert.equal(compact.length, 60)
  let n = 0n
  for (const ch of compact) n = (n << 5n) | BigInt('0123456789ABCDEFGHJKMNPQRSTVWXYZ'.indexOf(ch))
  assert.equal(n & 0xfn, 0n, 'four zero padding bits')
  const code = Buffer.from((n >> 4n).toString(16).padStart(74, '0'), 'hex')
  const payload = code.subarray(0, 33)
  const checksum = createHash('sha256').update(Buffer.concat([Buffer.from('quloud/v2/share-code-checksum\0', 'ascii'), payload])).digest().subarray(0, 4)
  assert.deepEqual(code.subarray(33), checksum)
  assert.equal(code[0], 2, 'version 2')
  return { readRoot: code.subarray(1, 17), writerPin: code.subarray(17, 33) }
}

/**
 * "Sealed pieces": envelope 0x01 || nonce || ciphertext || tag, then the 32-byte header;
 * a signed piece (manifests, tree listings) ends with the writer's public key and its
 * Ed25519 signature over "quloud/v2/shared-piece" || 0x00 || header || body.
 */
function openPieceBySpec (key: Uint8Array, aad: Uint8Array, sealed: Uint8Array, signed: boolean) {
  assert.equal(sealed[0], 1, 'envelope version')
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(1, 13), { authTagLength: 16 })
  decipher.setAAD(aad)
  decipher.setAuthTag(sealed.subarray(sealed.byteLength - 16))
  const opened = Buffer.concat([decipher.update(sealed.subarray(13, sealed.byteLength - 16)), decipher.final()])
  const plain = signed ? opened.subarray(0, opened.byteLength - 96) : opened
  const pieceKey = signed ? opened.subarray(opened.byteLength - 96, opened.byteLength - 64) : undefined
  if (signed) assert.ok(ed25519Verify(pieceKey!, signedMessage('quloud/v2/shared-piece', plain), opened.subarray(opened.byteLength - 64)), 'the piece signature verifies')
  return {
    pieceKey,
    edition: plain.subarray(0, 16).toString('hex'),
    generation: Number(plain.readBigUInt64BE(16)),
    index: plain.readUInt32BE(24),
    count: plain.readUInt32BE(28),
    body: plain.subarray(32)
  }
}

/** One edition's pieces opened and joined; the signed body split into document and signature. */
function openSignedBySpec (key: Uint8Array, aad: Uint8Array, pieces: string[], edition: string, signedPieces = true) {
  const opened = pieces.map((p) => openPieceBySpec(key, aad, bytes(p), signedPieces))
  const keys = new Set(opened.map((p) => hex(p.pieceKey ?? new Uint8Array(0))))
  assert.equal(keys.size, 1, 'one writer signed every piece')
  assert.deepEqual(opened.map((p) => [p.edition, p.index, p.count]), opened.map((_, i) => [edition, i, opened.length]))
  assert.equal(new Set(opened.map((p) => p.generation)).size, 1)
  const body = Buffer.concat(opened.map((p) => p.body))
  return { generation: opened[0]!.generation, pieceKey: opened[0]!.pieceKey, document: body.subarray(0, body.byteLength - 64), signature: body.subarray(body.byteLength - 64) }
}

/** With the implementation's Poseidon (test/vectors/poseidon-commitment.json pins it). */
const commit = (s: bigint): string => commitmentToDecimal(poseidonCommitment(s))
const signedMessage = (label: string, document: Uint8Array): Buffer => Buffer.concat([Buffer.from(label, 'ascii'), Buffer.from([0]), document])

describe('published vectors v2: sealed catalogue, sealed manifest, share code', () => {
  it('reads the share code by the spec to the read root and writer pin, and so does the implementation', () => {
    const code = readShareCodeBySpec(vectors.shareCode.code)
    assert.equal(hex(code.readRoot), vectors.shareCode.readRoot)
    assert.equal(hex(code.writerPin), vectors.shareCode.writerPin)
    assert.equal(vectors.shareCode.code.length, 74)
    const decoded = decodeShareCode(vectors.shareCode.code)
    assert.equal(hex(decoded.readRoot), vectors.shareCode.readRoot)
    assert.equal(hex(decoded.writerPin), vectors.shareCode.writerPin)
    assert.equal(encodeShareCode(decoded), vectors.shareCode.code)
    assert.throws(() => decodeShareCode(vectors.shareCode.v1Code), { name: 'InvalidShareCodeError', message: /protocol v1/ })
  })

  it('derives the manifest\'s keys, writer and pin from the master by the spec, and they match the share code', () => {
    const F = hkdf(bytes(vectors.master), 'quloud/v2/file-root', bytes(m.fileId), 32)
    assert.equal(hex(F), m.fileRoot)
    const R = hkdf(F, 'quloud/v2/file/read-root', EMPTY, 16)
    assert.equal(hex(R), m.readRoot)
    assert.equal(m.readRoot, vectors.shareCode.readRoot)
    assert.equal(hex(hkdf(R, 'quloud/v2/read/manifest-key', EMPTY, 32)), m.manifestKey)
    const seed = hkdf(F, 'quloud/v2/file/write-key', EMPTY, 32)
    assert.equal(hex(seed), m.writeKeySeed)
    assert.equal(hex(ed25519PublicKey(seed)), m.writer)
    assert.equal(hex(pinOf(bytes(m.writer))), m.writerPin)
    assert.equal(m.writerPin, vectors.shareCode.writerPin)
    assert.equal(hex(Buffer.concat([Buffer.from([2]), Buffer.from('quloud/v2/manifest-piece\0', 'ascii')])), m.aad)
    assert.equal(commit(retrievalSecret(R)), m.readCommitment)
    assert.equal(commit(manifestSecret(R)), m.manifestCommitment)
    assert.equal(commit(deleteSecret(F)), m.deleteCommitment)
  })

  it('opens the manifest by the spec from the share code alone: pieces, signed body, pin, signature, revision', () => {
    const { readRoot, writerPin } = readShareCodeBySpec(vectors.shareCode.code)
    const key = hkdf(readRoot, 'quloud/v2/read/manifest-key', EMPTY, 32)
    const { generation, pieceKey, document, signature } = openSignedBySpec(key, bytes(m.aad), m.pieces, m.edition)
    assert.deepEqual(pinOf(pieceKey!), writerPin, 'every piece is signed by the key the code pins')
    assert.equal(document.toString('utf8'), m.document)
    assert.equal(hex(signature), m.signature)
    const parsed = JSON.parse(document.toString('utf8')) as Record<string, unknown>
    assert.deepEqual(Object.keys(parsed), ['version', 'fileId', 'revision', 'name', 'kind', 'size', 'mode', 'mtimeMs', 'chunkSize', 'chunks', 'peers', 'holders', 'deleteCommitment', 'writer', 'receipts'])
    assert.deepEqual(pinOf(bytes(parsed.writer as string)), writerPin, 'the writer is the key the code pins')
    assert.ok(ed25519Verify(bytes(parsed.writer as string), signedMessage('quloud/v2/manifest', document), signature))
    assert.equal(parsed.revision, generation)
    assert.equal(parsed.revision, 1, 'first written: revision 1')
    assert.equal(parsed.version, 2)
    assert.ok(!(parsed.name as string).includes('/'), 'one segment: the reader learns the name, not the owner\'s path')
    assert.equal(parsed.deleteCommitment, m.deleteCommitment)
  })

  it('opens the manifest by the implementation alike, with and without the file id, and the catalogue points at its pieces', () => {
    const read = decodeShareCode(vectors.shareCode.code)
    assert.deepEqual(decodeManifest(Buffer.from(m.document)), m.value)
    assert.deepEqual(openManifest(m.pieces.map(bytes), read, parseFileId(m.fileId)), m.value)
    assert.deepEqual(openManifest(m.pieces.map(bytes), read), m.value)
    const entry = c.value.entries.find((e) => e.fileId === m.fileId)!
    assert.deepEqual(entry.manifest!.map((p) => p.id), m.pieces.map((p) => chunkIdOf(bytes(p))))
  })

  it('refuses both forged manifests, by the spec and by the implementation, though their pieces open and claim a higher revision', () => {
    const read = decodeShareCode(vectors.shareCode.code)
    assert.equal(m.forgeries.length, 2)
    for (const forgery of m.forgeries) {
      const { generation, pieceKey, document, signature } = openSignedBySpec(bytes(m.manifestKey), bytes(m.aad), forgery.pieces, forgery.edition)
      assert.equal(document.toString('utf8'), forgery.document)
      assert.ok(generation > m.value.revision)
      const piecesPinned = pinOf(pieceKey!).equals(bytes(m.writerPin))
      const writer = bytes((JSON.parse(forgery.document) as { writer: string }).writer)
      const pinned = pinOf(writer).equals(bytes(m.writerPin))
      const verifies = ed25519Verify(writer, signedMessage('quloud/v2/manifest', document), signature)
      assert.ok(!(piecesPinned && pinned && verifies), forgery.why)
      assert.equal(hex(pinOf(bytes(forgery.signer))), forgery.signerPin)
      assert.throws(() => openManifest(forgery.pieces.map(bytes), read), { name: 'ManifestSignatureError' }, forgery.why)
    }
    // one forgery fails on the pin, the other on the signature
    assert.notEqual(m.forgeries[0]!.signerPin, m.writerPin)
    assert.equal(m.forgeries[1]!.signerPin, m.writerPin)
    const all = [...m.forgeries.flatMap((f) => f.pieces), ...m.pieces].map(bytes)
    assert.deepEqual(newestManifest(all, read, parseFileId(m.fileId)), m.value)
  })

  it('opens the catalogue by the spec and by the implementation alike, signed by the catalogue write key', () => {
    const master = bytes(vectors.master)
    const key = hkdf(master, 'quloud/v2/catalogue-key', EMPTY, 32)
    assert.equal(hex(key), c.catalogueKey)
    assert.equal(hex(Buffer.concat([Buffer.from([2]), Buffer.from('quloud/v2/catalogue-piece\0', 'ascii')])), c.aad)
    const seed = hkdf(master, 'quloud/v2/catalogue-write-key', EMPTY, 32)
    assert.equal(hex(seed), c.writeKeySeed)
    assert.equal(hex(ed25519PublicKey(seed)), c.writer)
    const { generation, document, signature } = openSignedBySpec(key, bytes(c.aad), c.pieces, c.edition, false)
    assert.equal(generation, 12)
    assert.equal(document.toString('utf8'), c.document)
    assert.equal(hex(signature), c.signature)
    assert.ok(ed25519Verify(bytes(c.writer), signedMessage('quloud/v2/catalogue', document), signature))
    assert.ok(!ed25519Verify(bytes(c.writer), signedMessage('quloud/v2/manifest', document), signature), 'the label binds the kind')
    const parsed = JSON.parse(document.toString('utf8')) as { version: number, generation: number, entries: Array<Record<string, unknown>> }
    assert.equal(parsed.version, 3)
    assert.equal(parsed.generation, generation)
    assert.deepEqual(Object.keys(parsed.entries[1]!), ['fileId', 'name', 'kind', 'size', 'mode', 'mtimeMs', 'contentHash', 'group', 'shares', 'manifest'])
    assert.deepEqual(Object.keys(parsed.entries[2]!), ['fileId', 'name', 'kind', 'size', 'mode', 'mtimeMs', 'target', 'group'])
    assert.deepEqual([parsed.entries[2]!.kind, parsed.entries[2]!.target], ['symlink', '2024/a.jpg'])
    // the second put of the directory `photos`: its group says which version, and when
    assert.deepEqual(Object.keys(parsed.entries[0]!.group as object), ['id', 'root', 'version', 'storedAt'])
    assert.equal((parsed.entries[0]!.group as { version: number }).version, 2)
    // the content hash: HMAC-SHA256 under HKDF(master, "quloud/v2/content-hash-key")
    const hashKey = hkdf(master, 'quloud/v2/content-hash-key', EMPTY, 32)
    assert.equal(hex(hashKey), c.contentHashKey)
    assert.equal(createHmac('sha256', hashKey).update(bytes(c.content)).digest('hex'), parsed.entries[1]!.contentHash)
    assert.deepEqual(decodeCatalogue(document), c.value)
    assert.deepEqual(openCatalogue(c.pieces.map(bytes), master), c.value)
    assert.deepEqual(newestCatalogue(c.pieces.map(bytes), master), c.value)
    assert.equal(commit(catalogueSecret(master)), c.readCommitment)
    assert.equal(commit(catalogueDeleteSecret(master)), c.deleteCommitment)
  })

  it('opens the directory share by the spec: the tree code, its listing signed by the tree key, each file\'s read capability', () => {
    const t = vectors.tree
    const master = bytes(vectors.master)
    // the tree's capabilities derive from the directory entry's id exactly as a file's do
    const F = hkdf(master, 'quloud/v2/file-root', bytes(t.treeId), 32)
    const R = hkdf(F, 'quloud/v2/file/read-root', EMPTY, 16)
    assert.equal(hex(R), t.readRoot)
    const writer = ed25519PublicKey(hkdf(F, 'quloud/v2/file/write-key', EMPTY, 32))
    assert.equal(hex(writer), t.writer)
    assert.equal(hex(pinOf(writer)), t.writerPin)
    const code = readShareCodeBySpec(t.code)
    assert.deepEqual([hex(code.readRoot), hex(code.writerPin)], [t.readRoot, t.writerPin])
    assert.ok(c.value.entries.some((e) => e.fileId === t.treeId && e.kind === 'directory' && e.shares !== undefined))
    // sealed like a manifest: the tree's manifest key, the manifest AAD; signed under its own label
    const key = hkdf(code.readRoot, 'quloud/v2/read/manifest-key', EMPTY, 32)
    assert.equal(hex(key), t.manifestKey)
    const { generation, document, signature } = openSignedBySpec(key, bytes(m.aad), t.pieces, t.edition)
    assert.equal(document.toString('utf8'), t.document)
    assert.equal(hex(signature), t.signature)
    const parsed = JSON.parse(document.toString('utf8')) as { kind: string, revision: number, writer: string, entries: unknown[][] }
    assert.deepEqual(Object.keys(parsed), ['version', 'kind', 'treeId', 'revision', 'root', 'entries', 'writer'])
    assert.equal(parsed.kind, 'tree')
    assert.equal(parsed.revision, generation)
    assert.deepEqual(pinOf(bytes(parsed.writer)), code.writerPin)
    assert.ok(ed25519Verify(bytes(parsed.writer), signedMessage('quloud/v2/tree', document), signature))
    assert.ok(!ed25519Verify(bytes(parsed.writer), signedMessage('quloud/v2/manifest', document), signature), 'never a manifest')
    // the file row carries the file's own read capability: the one its share code carries
    const file = parsed.entries.find((e) => e[1] === 'file')!
    assert.deepEqual(file.slice(5), [vectors.shareCode.readRoot, vectors.shareCode.writerPin])
    // a link row (version 3): restored as a link to its verbatim target, never followed
    assert.deepEqual(parsed.entries.find((e) => e[1] === 'symlink'), ['photos/latest', 'symlink', 0, 0o777, 1_700_000_000_456, '2024/a.jpg'])
    assert.equal(commit(manifestSecret(R)), t.manifestCommitment)
    assert.equal(commit(deleteSecret(F)), t.deleteCommitment)
  })

  it('opens the tree listing by the implementation alike, and refuses the forged one and any manifest reading of it', () => {
    const t = vectors.tree
    const read = decodeShareCode(t.code)
    const listing = decodeTreeListing(Buffer.from(t.document))
    const forged = t.forgeries.flatMap((f) => f.pieces).map(bytes)
    assert.deepEqual(newestTreeListing([...forged, ...t.pieces.map(bytes)], read), listing)
    assert.equal(newestTreeListing(forged, read), undefined)
    for (const f of t.forgeries) {
      const opened = openSignedBySpec(bytes(t.manifestKey), bytes(m.aad), f.pieces, f.edition)
      assert.equal(opened.document.toString('utf8'), f.document)
      assert.notDeepEqual(pinOf(bytes(f.signer)), bytes(t.writerPin), f.why)
    }
    // a receiver tries the manifest first: a tree listing is never one
    assert.equal(newestManifest(t.pieces.map(bytes), read), undefined)
    assert.equal(newestTreeListing(m.pieces.map(bytes), decodeShareCode(vectors.shareCode.code)), undefined)
  })
})
