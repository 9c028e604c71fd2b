import { open } from 'node:fs/promises'
import { contentHasher } from '../../domain/formats/content-hash.ts'

const MAX_BUFFER_BYTES = 1 << 20

/**
 * The keyed content hash of the file at `path` (content-hash.ts). The read buffer is
 * sized by the `size` the caller found (one byte more, so a small file ends in one read
 * and the next returns nothing), at most 1 MiB: a re-put of a tree of small files hashes
 * every unchanged one, and a 1 MiB stream buffer per 20 KiB file was most of its time
 * (allocation and garbage collection). A file that grew since is read to its end all
 * the same, a few bytes at a time at worst, never held whole.
 */
export async function hashFile (path: string, key: Uint8Array, signal?: AbortSignal, size?: number): Promise<string> {
  const hasher = contentHasher(key)
  const buffer = Buffer.allocUnsafe(size === undefined ? MAX_BUFFER_BYTES : Math.min(MAX_BUFFER_BYTES, Math.max(4096, size + 1)))
  const handle = await open(path, 'r')
  try {
    for (let total = 0; ;) {
      signal?.throwIfAborted()
      const { bytesRead } = await handle.read(buffer, 0, buffer.byteLength, null)
      if (bytesRead === 0) break
      hasher.update(buffer.subarray(0, bytesRead))
      total += bytesRead
      // a regular file reads short only at its end: the size found, read in one short read, is the whole file
      if (total === size && bytesRead < buffer.byteLength) break
    }
  } finally {
    await handle.close()
  }
  return hasher.digest()
}
