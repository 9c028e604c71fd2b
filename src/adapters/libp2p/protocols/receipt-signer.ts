import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto'
import type { PeerId, PrivateKey, PublicKey } from '@libp2p/interface'
import { receiptSigningBytes, type ReceiptFields } from '../../../domain/protocol/receipt.ts'
import { InvalidReceiptError } from '../../../domain/protocol/federation-errors.ts'
import { RECEIPT_DELETED, RECEIPT_STORED, type Receipt } from '../wire/messages.ts'

/** Signs receipts with the storage node's libp2p identity key. */
export async function signReceipt (key: PrivateKey, node: PeerId, fields: Omit<ReceiptFields, 'node'>): Promise<Receipt> {
  const nodeBytes = node.toMultihash().bytes
  const signature = await signWith(key, receiptSigningBytes({ ...fields, node: nodeBytes }))
  return {
    kind: fields.kind === 'stored' ? RECEIPT_STORED : RECEIPT_DELETED,
    node: nodeBytes,
    chunkId: fields.chunkId,
    commitment: fields.commitment,
    deleteCommitment: fields.deleteCommitment,
    timeMs: fields.timeMs,
    bytesRemoved: fields.bytesRemoved,
    signature
  }
}

/** What a client expects a receipt to say; a delete knows D only, a store both. */
export interface ExpectedReceipt {
  kind: 'stored' | 'deleted'
  chunkId: string
  commitment?: string
  deleteCommitment: string
}

/**
 * Checks a receipt came from `expectedNode` about the expected chunk and record;
 * throws InvalidReceiptError otherwise. A store receipt whose D is not the one sent
 * means the node keeps the chunk under someone else's delete commitment (a record
 * stored earlier under the same C): the caller cannot delete it, so it is no receipt.
 */
export async function verifyReceipt (receipt: Receipt, expectedNode: PeerId, expected: ExpectedReceipt): Promise<void> {
  const nodeBytes = expectedNode.toMultihash().bytes
  const kind = receipt.kind === RECEIPT_STORED ? 'stored' : receipt.kind === RECEIPT_DELETED ? 'deleted' : undefined
  if (kind !== expected.kind || receipt.chunkId !== expected.chunkId || !equalBytes(receipt.node, nodeBytes) ||
    (expected.commitment !== undefined && receipt.commitment !== expected.commitment)) {
    throw new InvalidReceiptError(`receipt from ${expectedNode.toString()} does not match the request`)
  }
  if (receipt.deleteCommitment !== expected.deleteCommitment) {
    throw new InvalidReceiptError(`receipt from ${expectedNode.toString()} names another delete commitment: the chunk is held under a record the requester cannot delete`)
  }
  const publicKey = expectedNode.publicKey
  const signed = receiptSigningBytes({ ...receipt, kind, node: nodeBytes })
  if (publicKey === undefined || !await verifyWith(publicKey, signed, receipt.signature)) {
    throw new InvalidReceiptError(`receipt signature from ${expectedNode.toString()} does not verify`)
  }
}

// DER prefixes of an Ed25519 key (RFC 8410): the raw key follows
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex')
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex')
// libp2p's Ed25519 keys build a Node key object from JWK at every sign and verify: that,
// not the curve, was most of a receipt's cost (one per chunk and holder, both sides), so
// each key's object is made once, for as long as the key itself is kept
const signingKeys = new WeakMap<PrivateKey, KeyObject>()
const verifyingKeys = new WeakMap<PublicKey, KeyObject>()

async function signWith (key: PrivateKey, message: Uint8Array): Promise<Uint8Array> {
  if (key.type !== 'Ed25519') return key.sign(message)
  let object = signingKeys.get(key)
  if (object === undefined) {
    object = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, key.raw.subarray(0, 32)]), format: 'der', type: 'pkcs8' })
    signingKeys.set(key, object)
  }
  return sign(null, message, object)
}

async function verifyWith (key: PublicKey, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
  if (key.type !== 'Ed25519') return key.verify(message, signature)
  let object = verifyingKeys.get(key)
  if (object === undefined) {
    object = createPublicKey({ key: Buffer.concat([SPKI_ED25519, key.raw]), format: 'der', type: 'spki' })
    verifyingKeys.set(key, object)
  }
  try {
    return verify(null, message, object, signature)
  } catch {
    // a signature of the wrong length is no signature
    return false
  }
}

function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((v, i) => v === b[i])
}
