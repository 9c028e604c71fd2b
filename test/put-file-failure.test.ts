import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { silentLoggerFactory } from '../src/adapters/logging/stderr-logger.ts'
import { putFile } from '../src/app/owner/put-file.ts'
import type { FederationClient, StoreChannel } from '../src/ports/federation-client.ts'
import { tempDir } from './helpers/temp-dir.ts'

describe('putFile that fails mid-file', () => {
  it('rejects only once the stores it started have settled, so none goes on after it', async () => {
    const dir = await tempDir()
    try {
      const path = join(dir.path, 'big.bin')
      await writeFile(path, randomBytes(8 * 1024 * 1024))
      let inFlight = 0
      let stores = 0
      const controller = new AbortController()
      const federation: FederationClient = {
        candidates: async () => [{ peerId: 'p1', freeBytes: 1e12, reachable: true }],
        openSession: async () => { throw new Error('not used') },
        openStore: async (peerId): Promise<StoreChannel> => ({
          store: async (chunk) => {
            inFlight++
            // the operation is cancelled while the second chunk is on its way; stores already sent finish slowly
            if (++stores === 2) controller.abort()
            await new Promise((resolve) => setTimeout(resolve, 200))
            inFlight--
            return { peerId, chunkId: chunk.chunkId, timeMs: 1, signature: '' }
          },
          close: async () => {}
        })
      }
      const deps = { master: randomBytes(32), federation, log: silentLoggerFactory('test') }
      await assert.rejects(putFile(deps, { path, name: 'big.bin', size: 8 * 1024 * 1024, mode: 0o644, mtimeMs: 0, replicas: 1 }, { signal: controller.signal }))
      assert.equal(inFlight, 0, 'no store of the failed put is still going on')
    } finally {
      await dir.cleanup()
    }
  })
})
