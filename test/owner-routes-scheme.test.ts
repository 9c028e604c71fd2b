import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ownerRoutes } from '../src/adapters/control-api/owner-routes.ts'
import type { OwnerService } from '../src/app/owner/owner-service.ts'
import type { RepairService } from '../src/app/owner/repair-service.ts'
import { InvalidInputError } from '../src/errors.ts'
import { rejectsWith } from './helpers/rejects-with.ts'

describe('control API: POST /v1/put takes "replicas", "erasure" or neither', () => {
  const asked: unknown[] = []
  const owner = { put: async (_paths: string[], scheme: unknown) => { asked.push(scheme); return [] } } as unknown as OwnerService
  const put = ownerRoutes(owner, {} as RepairService)['POST /v1/put']!
  const call = async (body: unknown) => put(body, new AbortController().signal, () => {})

  it('passes each on as the owner service reads it, neither as undefined (the node\'s setting)', async () => {
    asked.length = 0
    await call({ paths: ['/a'], replicas: 2 })
    await call({ paths: ['/a'], erasure: '4+2' })
    await call({ paths: ['/a'], erasure: 'auto' })
    await call({ paths: ['/a'] })
    assert.deepEqual(asked, [2, { kind: 'erasure', scheme: { data: 4, parity: 2 } }, { kind: 'auto' }, undefined])
  })

  it('refuses both, a malformed scheme and a non-string one before any work', async () => {
    asked.length = 0
    for (const body of [{ paths: ['/a'], replicas: 2, erasure: '4+2' }, { paths: ['/a'], erasure: '4+' }, { paths: ['/a'], erasure: 42 }, { paths: ['/a'], replicas: 0 }]) {
      await rejectsWith(call(body), InvalidInputError)
    }
    assert.deepEqual(asked, [])
  })
})
