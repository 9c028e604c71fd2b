import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { chmod, mkdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { initDataDir } from '../src/adapters/data-dir/data-dir.ts'
import { tempDir } from './helpers/temp-dir.ts'

describe('data directory', () => {
  it('is made 0700 by init, also when it existed before with a wider mode', async () => {
    const dir = await tempDir()
    try {
      // a container volume or a directory the user made: world-readable around the secrets
      const existing = join(dir.path, 'existing')
      await mkdir(existing)
      await chmod(existing, 0o777)
      await initDataDir(existing, randomBytes(32))
      assert.equal((await stat(existing)).mode & 0o777, 0o700)

      const fresh = join(dir.path, 'fresh', 'nested')
      await initDataDir(fresh, randomBytes(32))
      assert.equal((await stat(fresh)).mode & 0o777, 0o700)
    } finally {
      await dir.cleanup()
    }
  })
})
