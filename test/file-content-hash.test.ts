// hashFile reads with a buffer sized by the size the caller found: whatever that size
// says, the hash is the keyed hash of what the file holds when it is read.
import assert from 'node:assert/strict'
import { createHmac, randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { hashFile } from '../src/app/owner/file-content-hash.ts'
import { tempDir } from './helpers/temp-dir.ts'

describe('hashFile', () => {
  it('is the keyed hash of the whole content, whether the size given is right, too small, too large or absent', async (t) => {
    const dir = await tempDir()
    t.after(() => dir.cleanup())
    const key = randomBytes(32)
    for (const bytes of [0, 1, 4095, 4096, 20 * 1024, (1 << 20) + 17, 3 * (1 << 20)]) {
      const content = randomBytes(bytes)
      const path = join(dir.path, `f${bytes}`)
      await writeFile(path, content)
      const expected = createHmac('sha256', key).update(content).digest('hex')
      for (const size of [undefined, bytes, 0, Math.floor(bytes / 3), bytes * 2 + 5]) {
        assert.equal(await hashFile(path, key, undefined, size), expected, `${bytes} bytes, size said ${size}`)
      }
    }
  })

  it('stops on an aborted signal', async (t) => {
    const dir = await tempDir()
    t.after(() => dir.cleanup())
    const path = join(dir.path, 'f')
    await writeFile(path, randomBytes(1000))
    await assert.rejects(hashFile(path, randomBytes(32), AbortSignal.abort(), 1000), { name: 'AbortError' })
  })
})
