import { lengthPrefixedConcat, u64 } from '../crypto/canonical-bytes.ts'

/**
 * Receipts: a storage node's signed statement that it stored or deleted a chunk for a
 * record (read commitment C, delete commitment D). The owner keeps them in the file's
 * manifest as evidence of placement.
 *
 * Signed bytes (protocol-spec/README.md, "Receipts"): eight fields, each as a u32
 * big-endian length and its bytes, the tag included: the tag `quloud/receipt/v2`,
 * kind (1 byte: 1 stored, 2 deleted), node peer id (multihash bytes), chunk id (UTF-8),
 * commitment C (UTF-8 decimal), delete commitment D (UTF-8 decimal), time (u64
 * big-endian unix ms), bytes removed (1 byte).
 */
export interface ReceiptFields {
  kind: 'stored' | 'deleted'
  /** Multihash bytes of the storage node's peer id. */
  node: Uint8Array
  chunkId: string
  commitment: string
  deleteCommitment: string
  timeMs: number
  bytesRemoved: boolean
}

export const RECEIPT_TAG = 'quloud/receipt/v2'
const utf8 = new TextEncoder()

export function receiptSigningBytes (fields: ReceiptFields): Uint8Array {
  return lengthPrefixedConcat([
    utf8.encode(RECEIPT_TAG),
    Uint8Array.of(fields.kind === 'stored' ? 1 : 2),
    fields.node,
    utf8.encode(fields.chunkId),
    utf8.encode(fields.commitment),
    utf8.encode(fields.deleteCommitment),
    u64(fields.timeMs),
    Uint8Array.of(fields.bytesRemoved ? 1 : 0)
  ])
}
