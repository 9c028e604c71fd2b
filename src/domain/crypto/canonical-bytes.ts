/**
 * The canonical byte string Quloud signs or hashes: each part as a u32 big-endian
 * length followed by its bytes. Unambiguous for any parts, trivial to reimplement.
 */
export function lengthPrefixedConcat (parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + 4 + p.byteLength, 0))
  const view = new DataView(out.buffer)
  let offset = 0
  for (const part of parts) {
    view.setUint32(offset, part.byteLength)
    out.set(part, offset + 4)
    offset += 4 + part.byteLength
  }
  return out
}

/** u64 big-endian. */
export function u64 (value: number): Uint8Array {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, BigInt(value))
  return out
}
