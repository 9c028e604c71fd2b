import type { PeerId, PrivateKey } from '@libp2p/interface'
import { receiptSigningBytes, type ReceiptFields } from '../../../domain/protocol/receipt.ts'
import { InvalidReceiptError } from '../../../domain/protocol/federation-errors.ts'
import { RECEIPT_DELETED, RECEIPT_STORED, type Receipt } from '../wire/messages.ts'

/** Signs receipts with the storage node's libp2p identity key. */
export async function signReceipt (key: PrivateKey, node: PeerId, fields: Omit<ReceiptFields, 'node'>): Promise<Receipt> {
  const nodeBytes = node.toMultihash().bytes
  const signature = await key.sign(receiptSigningBytes({ ...fields, node: nodeBytes }))
  return {
    kind: fields.kind === 'stored' ? RECEIPT_STORED : RECEIPT_DELETED,
    node: nodeBytes,
    chunkId: fields.chunkId,
    commitment: fields.commitment,
    timeMs: fields.timeMs,
    bytesRemoved: fields.bytesRemoved,
    signature
  }
}

/**
 * Checks a receipt came from `expectedNode` about the expected chunk and commitment;
 * throws InvalidReceiptError otherwise.
 */
export async function verifyReceipt (receipt: Receipt, expectedNode: PeerId, expected: { chunkId: string, commitment: string, kind: 'stored' | 'deleted' }): Promise<void> {
  const nodeBytes = expectedNode.toMultihash().bytes
  const kind = receipt.kind === RECEIPT_STORED ? 'stored' : receipt.kind === RECEIPT_DELETED ? 'deleted' : undefined
  if (kind !== expected.kind || receipt.chunkId !== expected.chunkId || receipt.commitment !== expected.commitment ||
    !equalBytes(receipt.node, nodeBytes)) {
    throw new InvalidReceiptError(`receipt from ${expectedNode.toString()} does not match the request`)
  }
  const publicKey = expectedNode.publicKey
  const signed = receiptSigningBytes({ kind, node: nodeBytes, chunkId: receipt.chunkId, commitment: receipt.commitment, timeMs: receipt.timeMs, bytesRemoved: receipt.bytesRemoved })
  if (publicKey === undefined || !await publicKey.verify(signed, receipt.signature)) {
    throw new InvalidReceiptError(`receipt signature from ${expectedNode.toString()} does not verify`)
  }
}

function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((v, i) => v === b[i])
}
