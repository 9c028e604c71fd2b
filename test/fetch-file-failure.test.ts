import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { silentLoggerFactory } from '../src/adapters/logging/stderr-logger.ts'
import { fetchFile } from '../src/app/owner/fetch-file.ts'
import { putFile } from '../src/app/owner/put-file.ts'
import { ownerFileCapabilities } from '../src/domain/capabilities/file-capabilities.ts'
import { parseFileId } from '../src/domain/formats/file-id.ts'
import { NotFoundError } from '../src/errors.ts'
import type { FederationClient } from '../src/ports/federation-client.ts'
import { MemoryFederation } from './helpers/memory-federation.ts'
import { tempDir } from './helpers/temp-dir.ts'

describe('fetchFile that fails mid-file', () => {
  it('rejects only once the chunk reads it started have settled, so none goes on after it', async () => {
    const dir = await tempDir()
    try {
      const size = 6 * 1024 * 1024
      const path = join(dir.path, 'big.bin')
      await writeFile(path, randomBytes(size))
      const memory = new MemoryFederation()
      memory.addPeer('p1')
      const master = randomBytes(32)
      const log = silentLoggerFactory('test')
      const { entry } = await putFile({ master, federation: memory, log }, { path, name: 'big.bin', size, mode: 0o644, mtimeMs: 0, replicas: 1 })

      let sessions = 0
      let gets = 0
      let inFlight = 0
      const federation: FederationClient = {
        candidates: async (o) => memory.candidates(o),
        openStore: async (peer, o) => memory.openStore(peer, o),
        openSession: async (peer, proof, o) => {
          const session = await memory.openSession(peer, proof, o)
          if (sessions++ === 0) return session // the manifest
          return {
            ...session,
            get: async (id, options) => {
              // the first chunk asked for is gone; the others come slowly
              if (gets++ === 0) throw new NotFoundError('lost')
              inFlight++
              try {
                await new Promise((resolve) => setTimeout(resolve, 200))
                return await session.get(id, options)
              } finally {
                inFlight--
              }
            }
          }
        }
      }
      const fileId = parseFileId(entry.fileId)
      await assert.rejects(fetchFile(federation, log, { fileId, read: ownerFileCapabilities(master, fileId).read, manifest: entry.manifest!, output: join(dir.path, 'back.bin') }), { name: 'FileUnavailableError' })
      assert.equal(inFlight, 0, 'no read of the failed get is still going on')
    } finally {
      await dir.cleanup()
    }
  })
})
