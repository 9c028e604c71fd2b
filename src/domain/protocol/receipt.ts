import { lengthPrefixedConcat, u64 } from '../crypto/canonical-bytes.ts'

/**
 * Receipts: a storage node's signed statement that it stored or deleted a chunk for a
 * commitment. The owner keeps them in the file's manifest as evidence of placement.
 *
 * Signed bytes (protocol-spec/README.md, "Receipts"): the UTF-8 tag
 * `quloud/receipt/v1`, then each field as a u32 big-endian length and its bytes:
 * kind (1 byte: 1 stored, 2 deleted), node peer id (multihash bytes), chunk id (UTF-8),
 * commitment (UTF-8 decimal), time (u64 big-endian unix ms), bytes removed (1 byte).
 */
export interface ReceiptFields {
  kind: 'stored' | 'deleted'
  /** Multihash bytes of the storage node's peer id. */
  node: Uint8Array
  chunkId: string
  commitment: string
  timeMs: number
  bytesRemoved: boolean
}

export const RECEIPT_TAG = 'quloud/receipt/v1'
const utf8 = new TextEncoder()

export function receiptSigningBytes (fields: ReceiptFields): Uint8Array {
  return lengthPrefixedConcat([
    utf8.encode(RECEIPT_TAG),
    Uint8Array.of(fields.kind === 'stored' ? 1 : 2),
    fields.node,
    utf8.encode(fields.chunkId),
    utf8.encode(fields.commitment),
    u64(fields.timeMs),
    Uint8Array.of(fields.bytesRemoved ? 1 : 0)
  ])
}
