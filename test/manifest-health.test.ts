import assert from 'node:assert/strict'
import { it } from 'node:test'
import { fileHealth } from '../src/domain/formats/manifest-health.ts'
import type { Manifest } from '../src/domain/formats/manifest.ts'

it('the health of a replicated file of 200,000 chunks (200 GiB): counted, where a spread of its chunks overflowed the stack', () => {
  const chunks = 200_000
  const manifest = { erasure: undefined, chunks: new Array(chunks).fill({}), holders: Array.from({ length: chunks }, (_, i) => i === 7 ? ['a'] : ['a', 'b']) } as unknown as Manifest
  assert.deepEqual(fileHealth(manifest, (peer) => peer !== 'c'), { healthy: 1, needed: 1, total: 2 })
  assert.deepEqual(fileHealth(manifest, (peer) => peer !== 'a'), { healthy: 0, needed: 1, total: 2 })
})
