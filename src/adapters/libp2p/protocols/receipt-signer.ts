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
  if (publicKey === undefined || !await publicKey.verify(signed, receipt.signature)) {
    throw new InvalidReceiptError(`receipt signature from ${expectedNode.toString()} does not verify`)
  }
}

function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((v, i) => v === b[i])
}
