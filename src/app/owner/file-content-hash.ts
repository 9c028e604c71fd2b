import { createReadStream } from 'node:fs'
import { contentHasher } from '../../domain/formats/content-hash.ts'

/** The keyed content hash of the file at `path` (content-hash.ts), read as a stream. */
export async function hashFile (path: string, key: Uint8Array, signal?: AbortSignal): Promise<string> {
  const hasher = contentHasher(key)
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20, ...(signal === undefined ? {} : { signal }) })) hasher.update(chunk as Buffer)
  return hasher.digest()
}
