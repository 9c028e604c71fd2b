import assert from 'node:assert/strict'
import { createHmac, hkdfSync } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { ownerFileCapabilities } from '../src/domain/capabilities/file-capabilities.ts'
import { splitSignedBody, verifyBody } from '../src/domain/capabilities/signed-body.ts'
import { batchDeleteSecret, batchReadSecret, batchRoot, BN254_R } from '../src/domain/crypto/key-derivation.ts'
import { decodeCatalogue } from '../src/domain/formats/catalogue.ts'
import { contentHashKey, statStamp } from '../src/domain/formats/content-hash.ts'
import { decodeManifest } from '../src/domain/formats/manifest.ts'
import { commitmentToDecimal, poseidonCommitment } from '../src/domain/proofs/poseidon-commitment.ts'

const v = JSON.parse(readFileSync(new URL('./vectors/batches.json', import.meta.url), 'utf8'))
const bytes = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, 'hex'))
const utf8 = new TextEncoder()

/** The spec's construction with node:crypto: HKDF-SHA256, empty salt, info = label || 0x00 || context. */
function spec (root: Uint8Array, label: string, context: Uint8Array, length: number): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', root, new Uint8Array(0), Uint8Array.from([...utf8.encode(label), 0, ...context]), length))
}

describe('batch vectors (test/vectors/batches.json)', () => {
  it('derive the batch root and its two secrets by the spec and by the implementation alike', () => {
    const root = spec(bytes(v.master), 'quloud/v3/batch-root', bytes(v.batchId), 32)
    assert.equal(Buffer.from(root).toString('hex'), v.batchRoot)
    assert.equal(Buffer.from(batchRoot(bytes(v.master), bytes(v.batchId))).toString('hex'), v.batchRoot)
    const scalar = (label: string): string => (BigInt('0x' + Buffer.from(spec(root, label, Uint8Array.of(0), 64)).toString('hex')) % BN254_R).toString(10)
    assert.equal(scalar('quloud/v3/batch/read-secret'), v.batchReadSecret)
    assert.equal(scalar('quloud/v3/batch/delete-secret'), v.batchDeleteSecret)
    assert.equal(batchReadSecret(root).toString(10), v.batchReadSecret)
    assert.equal(batchDeleteSecret(root).toString(10), v.batchDeleteSecret)
    assert.equal(commitmentToDecimal(poseidonCommitment(BigInt(v.batchReadSecret))), v.readCommitment)
    assert.equal(commitmentToDecimal(poseidonCommitment(BigInt(v.batchDeleteSecret))), v.deleteCommitment)
  })

  it('the manifest of a batched file carries the batch\'s read secret and delete commitment, signed by the file\'s own write key', () => {
    const manifest = decodeManifest(utf8.encode(v.manifest.document))
    assert.equal(manifest.dataSecret, v.batchReadSecret)
    assert.equal(manifest.deleteCommitment, v.deleteCommitment)
    const caps = ownerFileCapabilities(bytes(v.master), bytes(v.fileId))
    assert.equal(manifest.writer, Buffer.from(caps.write.publicKey).toString('hex'))
    const signed = splitSignedBody(bytes(v.manifest.signedBody))
    assert.ok(signed !== undefined && verifyBody(v.manifest.signatureLabel, caps.write.publicKey, signed))
    assert.equal(Buffer.from(signed.document).toString('utf8'), v.manifest.document)
  })

  it('the catalogue names the batch and the file\'s chunks, and every refused document is refused', () => {
    const [entry] = decodeCatalogue(utf8.encode(v.catalogue.document)).entries
    assert.equal(entry!.batch, v.batchId)
    assert.deepEqual(entry!.chunks!.map((c) => c.id), decodeManifest(utf8.encode(v.manifest.document)).chunks.map((c) => c.id))
    assert.equal(v.refused.length, 5)
    for (const bad of v.refused) assert.throws(() => decodeCatalogue(utf8.encode(bad.document)), { name: 'InvalidCatalogueError' }, bad.why)
  })

  it('version 4: the batched file before it is shared has no manifest; without a batch, or in version 3, that is refused', () => {
    const catalogue = decodeCatalogue(utf8.encode(v.catalogueV4.document))
    assert.equal(catalogue.version, 4)
    const [entry] = catalogue.entries
    assert.equal(entry!.manifest, undefined)
    assert.equal(entry!.batch, v.batchId)
    // the stat stamp: HMAC-SHA256 under the content-hash key of the label and the identity, 16 bytes
    const key = hkdfSync('sha256', bytes(v.master), new Uint8Array(0), utf8.encode('quloud/v2/content-hash-key\0'), 32)
    const stamp = createHmac('sha256', Buffer.from(key)).update(`quloud/v4/stat-stamp\0${v.catalogueV4.statStamp.identity}`).digest('hex').slice(0, 32)
    assert.equal(stamp, v.catalogueV4.statStamp.stamp)
    assert.equal(statStamp(contentHashKey(bytes(v.master)), v.catalogueV4.statStamp.identity), stamp)
    assert.equal(entry!.statStamp, stamp)
    assert.deepEqual(entry!.chunks!.map((c) => c.id), decodeManifest(utf8.encode(v.manifest.document)).chunks.map((c) => c.id))
    assert.equal(v.refusedV4.length, 2)
    for (const bad of v.refusedV4) assert.throws(() => decodeCatalogue(utf8.encode(bad.document)), { name: 'InvalidCatalogueError' }, bad.why)
  })
})
