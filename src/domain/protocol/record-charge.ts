/**
 * What one stored record costs the peer that stored it, against its allowance: its
 * bytes rounded up to whole disk blocks, plus the record's own keeping (index entries,
 * the record itself). A record of 4 bytes costs a block on disk whatever its length,
 * and a record of 0 bytes still costs its metadata: charged by length alone, 13,408
 * four-byte chunks were charged 53,632 bytes for 58.6 MB of disk, and zero-byte ones
 * nothing. Charged this way, a peer's records are also bounded in number: at most its
 * allowance divided by RECORD_MIN_CHARGE.
 */

/** The block size the charge rounds up to: the common filesystem block. */
export const DISK_BLOCK_BYTES = 4096

/** A record's keeping beyond its bytes: the record (~300 bytes of JSON) and its index entry. */
export const RECORD_OVERHEAD_BYTES = 512

/** The least a record costs: one block and its keeping. */
export const RECORD_MIN_CHARGE = DISK_BLOCK_BYTES + RECORD_OVERHEAD_BYTES

/** Bytes charged for a record of `size` bytes of data. */
export function recordCharge (size: number): number {
  return Math.max(1, Math.ceil(size / DISK_BLOCK_BYTES)) * DISK_BLOCK_BYTES + RECORD_OVERHEAD_BYTES
}
