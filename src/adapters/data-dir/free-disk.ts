import { statfs } from 'node:fs/promises'

/** Bytes an unprivileged process may still write on the file system of `path`; undefined when it cannot be read. */
export async function freeDiskBytes (path: string): Promise<number | undefined> {
  try {
    const info = await statfs(path)
    return info.bavail * info.bsize
  } catch {
    return undefined
  }
}
