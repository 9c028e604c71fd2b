import assert from 'node:assert/strict'
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { signReceipt, verifyReceipt } from '../src/adapters/libp2p/protocols/receipt-signer.ts'
import { ReceiptCodec } from '../src/adapters/libp2p/wire/messages.ts'
import { receiptSigningBytes } from '../src/domain/protocol/receipt.ts'

interface ReceiptVector {
  name: string
  kind: 'stored' | 'deleted'
  chunkId: string
  commitment: string
  deleteCommitment: string
  timeMs: number
  bytesRemoved: boolean
  signedBytes: string
  signature: string
  receiptProtobuf: string
}
const vectors = JSON.parse(readFileSync(new URL('./vectors/receipt.json', import.meta.url), 'utf8')) as {
  key: { ed25519Seed: string, publicKey: string, peerId: string, node: string }
  receipts: ReceiptVector[]
}
const hex = (text: string): Buffer => Buffer.from(text, 'hex')

/** protocol-spec/README.md "Receipts", written again from the text with Buffer only. */
function signedBytesBySpec (v: ReceiptVector, node: Buffer): Buffer {
  const field = (bytes: Buffer): Buffer => {
    const length = Buffer.alloc(4)
    length.writeUInt32BE(bytes.byteLength)
    return Buffer.concat([length, bytes])
  }
  const time = Buffer.alloc(8)
  time.writeBigUInt64BE(BigInt(v.timeMs))
  return Buffer.concat([
    field(Buffer.from('quloud/receipt/v2', 'utf8')), // the tag is length-prefixed like every field
    field(Buffer.from([v.kind === 'stored' ? 1 : 2])),
    field(node),
    field(Buffer.from(v.chunkId, 'utf8')),
    field(Buffer.from(v.commitment, 'utf8')),
    field(Buffer.from(v.deleteCommitment, 'utf8')),
    field(time),
    field(Buffer.from([v.bytesRemoved ? 1 : 0]))
  ])
}

describe('published vectors: receipts v2', () => {
  const privateKey = createPrivateKey({ key: Buffer.concat([hex('302e020100300506032b657004220420'), hex(vectors.key.ed25519Seed)]), format: 'der', type: 'pkcs8' })
  const publicKey = createPublicKey(privateKey)

  it('has at least a stored and a deleted receipt', () => {
    assert.ok(vectors.receipts.some((v) => v.kind === 'stored'))
    assert.ok(vectors.receipts.some((v) => v.kind === 'deleted'))
  })

  it('checks by the spec with node:crypto alone: key, node bytes, signed bytes, deterministic signature', () => {
    assert.equal(publicKey.export({ format: 'der', type: 'spki' }).subarray(12).toString('hex'), vectors.key.publicKey)
    // an Ed25519 peer id: identity multihash (0x00, 36) of the protobuf public key (type 1, 32 bytes)
    assert.equal(vectors.key.node, '002408011220' + vectors.key.publicKey)
    for (const v of vectors.receipts) {
      const signed = signedBytesBySpec(v, hex(vectors.key.node))
      assert.equal(signed.toString('hex'), v.signedBytes, v.name)
      assert.ok(verify(null, signed, publicKey, hex(v.signature)), v.name)
      assert.equal(sign(null, signed, privateKey).toString('hex'), v.signature, `${v.name}: Ed25519 is deterministic`)
    }
  })

  it('the implementation makes the same bytes, signature and protobuf, and accepts them', async () => {
    const key = await generateKeyPairFromSeed('Ed25519', hex(vectors.key.ed25519Seed))
    const peer = peerIdFromPrivateKey(key)
    assert.equal(peer.toString(), vectors.key.peerId)
    assert.equal(Buffer.from(peer.toMultihash().bytes).toString('hex'), vectors.key.node)
    for (const v of vectors.receipts) {
      const fields = { kind: v.kind, chunkId: v.chunkId, commitment: v.commitment, deleteCommitment: v.deleteCommitment, timeMs: v.timeMs, bytesRemoved: v.bytesRemoved }
      assert.equal(Buffer.from(receiptSigningBytes({ ...fields, node: hex(vectors.key.node) })).toString('hex'), v.signedBytes, v.name)
      const receipt = await signReceipt(key, peer, fields)
      assert.equal(Buffer.from(receipt.signature).toString('hex'), v.signature, v.name)
      assert.equal(Buffer.from(ReceiptCodec.encode(receipt)).toString('hex'), v.receiptProtobuf, v.name)
      const decoded = ReceiptCodec.decode(hex(v.receiptProtobuf))
      await verifyReceipt(decoded, peer, { kind: v.kind, chunkId: v.chunkId, commitment: v.commitment, deleteCommitment: v.deleteCommitment })
    }
  })

  it('a receipt changed in any signed field, or naming another D than asked, is InvalidReceiptError', async () => {
    const key = await generateKeyPairFromSeed('Ed25519', hex(vectors.key.ed25519Seed))
    const peer = peerIdFromPrivateKey(key)
    const v = vectors.receipts.find((r) => r.kind === 'stored')!
    const good = ReceiptCodec.decode(hex(v.receiptProtobuf))
    const expected = { kind: v.kind, chunkId: v.chunkId, commitment: v.commitment, deleteCommitment: v.deleteCommitment }
    // what the node signed is checked: a forged time or flag breaks the signature
    for (const forged of [{ ...good, timeMs: good.timeMs + 1 }, { ...good, bytesRemoved: true }]) {
      await assert.rejects(verifyReceipt(forged, peer, expected), { name: 'InvalidReceiptError' })
    }
    // what the client sent is checked: another C or D, even correctly signed, is refused
    await assert.rejects(verifyReceipt(good, peer, { ...expected, deleteCommitment: v.commitment }), { name: 'InvalidReceiptError' })
    await assert.rejects(verifyReceipt(good, peer, { ...expected, commitment: v.deleteCommitment }), { name: 'InvalidReceiptError' })
    const resigned = await signReceipt(key, peer, { ...expected, kind: 'stored', deleteCommitment: v.commitment, timeMs: v.timeMs, bytesRemoved: false })
    await assert.rejects(verifyReceipt(resigned, peer, expected), { name: 'InvalidReceiptError' })
  })
})
