import { chmod, open, rename, rm } from 'node:fs/promises'

/**
 * Writes via a temp file, fsync and rename, so readers see the old or the new file.
 * Apart from data-dir.ts so that client verbs (`config set`, `api-key rotate`) write
 * files without loading libp2p's key code.
 */
export async function writeAtomic (path: string, data: Uint8Array | string, mode: number): Promise<{ ino: number, size: number }> {
  // node:crypto taken when needed: a client verb that writes nothing does not load it (~5 ms)
  const tmp = `${path}.${process.getBuiltinModule('node:crypto').randomBytes(4).toString('hex')}.tmp`
  try {
    const handle = await open(tmp, 'wx', mode)
    let written: { ino: number, size: number }
    try {
      await handle.writeFile(data)
      await handle.sync()
      written = await handle.stat()
    } finally {
      await handle.close()
    }
    await chmod(tmp, mode)
    await rename(tmp, path)
    // the file as written, which the path may no longer name by the time a caller looks
    return { ino: written.ino, size: written.size }
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => {})
    throw err
  }
}
