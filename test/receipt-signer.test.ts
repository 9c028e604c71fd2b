import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { signReceipt, verifyReceipt } from '../src/adapters/libp2p/protocols/receipt-signer.ts'
import { receiptSigningBytes } from '../src/domain/protocol/receipt.ts'

const fields = { kind: 'stored' as const, chunkId: 'c'.repeat(52), commitment: '12', deleteCommitment: '34', timeMs: 1_700_000_000_000, bytesRemoved: false }
const expected = { kind: 'stored' as const, chunkId: fields.chunkId, commitment: '12', deleteCommitment: '34' }

// the signer keeps one Node key object per libp2p key (receipt-signer.ts): these pin that
// what it caches never lets one key's signature pass for another's
describe('receipt signer', () => {
  it('signs as libp2p does and verifies again and again with the same key', async () => {
    const key = await generateKeyPair('Ed25519')
    const peer = peerIdFromPrivateKey(key)
    for (let i = 0; i < 3; i++) {
      const receipt = await signReceipt(key, peer, { ...fields, timeMs: fields.timeMs + i })
      assert.ok(await key.publicKey.verify(receiptSigningBytes({ ...fields, timeMs: fields.timeMs + i, node: peer.toMultihash().bytes }), receipt.signature))
      await verifyReceipt(receipt, peer, expected)
      // a peer id made again from its string has another key object: verified the same
      await verifyReceipt(receipt, peerIdFromString(peer.toString()), expected)
    }
  })

  it('the attack: a receipt signed with another key, once the true key is cached, is refused', async () => {
    const honest = await generateKeyPair('Ed25519')
    const forger = await generateKeyPair('Ed25519')
    const peer = peerIdFromPrivateKey(honest)
    await verifyReceipt(await signReceipt(honest, peer, fields), peer, expected)
    // the forger signs a receipt naming the honest node
    const forged = await signReceipt(forger, peer, fields)
    await assert.rejects(verifyReceipt(forged, peer, expected), { name: 'InvalidReceiptError' })
    // and its own cached key does not make the honest node's receipt pass as its own
    const forgerPeer = peerIdFromPrivateKey(forger)
    await verifyReceipt(await signReceipt(forger, forgerPeer, fields), forgerPeer, expected)
    await assert.rejects(verifyReceipt(await signReceipt(honest, peer, fields), forgerPeer, expected), { name: 'InvalidReceiptError' })
  })

  it('a truncated or empty signature is refused, not thrown through', async () => {
    const key = await generateKeyPair('Ed25519')
    const peer = peerIdFromPrivateKey(key)
    const good = await signReceipt(key, peer, fields)
    for (const signature of [good.signature.subarray(0, 63), new Uint8Array(0), new Uint8Array(65)]) {
      await assert.rejects(verifyReceipt({ ...good, signature }, peer, expected), { name: 'InvalidReceiptError' })
    }
  })
})
