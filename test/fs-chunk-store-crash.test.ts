import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { FsChunkStore } from '../src/adapters/chunk-store/fs-chunk-store.ts'
import { sizeFor, valueFor } from './fixtures/fs-store-writer.ts'
import { tempDir } from './helpers/temp-dir.ts'

const writer = fileURLToPath(new URL('./fixtures/fs-store-writer.ts', import.meta.url))

describe('FsChunkStore after a crash', () => {
  it('shows only whole chunks after SIGKILL mid-write, and clears temp files on open', async () => {
    const dir = await tempDir()
    try {
      for (const delay of [150, 400, 900]) {
        const child = spawn(process.execPath, [writer, dir.path], { stdio: ['ignore', 'pipe', 'inherit'] })
        await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()))
        await sleep(delay)
        child.kill('SIGKILL')
        await new Promise((resolve) => child.on('exit', resolve))

        const store = await FsChunkStore.open({ root: dir.path })
        assert.deepEqual(await readdir(join(dir.path, 'tmp')), [], 'temp files cleared')
        let count = 0
        for await (const id of store.ids()) {
          const bytes = await store.get(id)
          const expected = valueFor(id, sizeFor(id))
          assert.equal(bytes.byteLength, expected.byteLength, `chunk ${id} is truncated`)
          assert.ok(Buffer.from(bytes).equals(Buffer.from(expected)), `chunk ${id} is corrupt`)
          count++
        }
        assert.ok(count > 0, 'the writer managed to write something')
        await store.close()
      }
    } finally {
      await dir.cleanup()
    }
  })
})
