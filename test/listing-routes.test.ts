import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { OWNER_READ_ONLY_ROUTES, ownerRoutes } from '../src/adapters/control-api/owner-routes.ts'
import { ControlApiServer } from '../src/adapters/control-api/control-api-server.ts'
import type { OwnerService } from '../src/app/owner/owner-service.ts'
import type { RepairService } from '../src/app/owner/repair-service.ts'
import type { CatalogueEntry, CatalogueGroup } from '../src/domain/formats/catalogue.ts'
import { listCatalogue } from '../src/domain/formats/catalogue-listing.ts'
import { versionsOf } from '../src/domain/formats/catalogue-paths.ts'
import { silentLoggerFactory } from '../src/adapters/logging/stderr-logger.ts'
import { InvalidInputError } from '../src/errors.ts'
import { rejectsWith } from './helpers/rejects-with.ts'

const hex = (n: number): string => n.toString(16).padStart(32, '0')

/** `versions` versions of the tree `nas`, each with the same `files` files. */
function history (files: number, versions: number): CatalogueEntry[] {
  const all: CatalogueEntry[] = []
  for (let v = 1; v <= versions; v++) {
    const group: CatalogueGroup = { id: hex(1e9 + v), root: 'nas', ...(v > 1 ? { version: v } : {}), storedAt: v }
    all.push({ fileId: hex(v), name: 'nas', kind: 'directory', size: 0, mode: 0o755, mtimeMs: 0, group })
    for (let i = 0; i < files; i++) all.push({ fileId: hex(1e6 + i), name: `nas/f${i}`, kind: 'file', size: 10, mode: 0o644, mtimeMs: 0, group })
  }
  return all
}

function routesOver (all: CatalogueEntry[]): ReturnType<typeof ownerRoutes> {
  const owner = { listing: async (request: object) => listCatalogue(all, request), versions: async (ref: string) => versionsOf(all, ref) } as unknown as OwnerService
  return ownerRoutes(owner, { stateOf: async () => new Map() } as unknown as RepairService)
}

const signal = new AbortController().signal

describe('control API: POST /v1/list and POST /v1/versions', () => {
  const routes = routesOver(history(2, 2))
  const call = async (route: string, body: unknown): Promise<unknown> => Promise.resolve().then(async () => routes[route]!(body, signal, () => {}))

  it('refuses bad bodies with a typed error before any work', async () => {
    for (const body of [null, 1, 'x', [], { ref: 1 }, { ref: '' }, { ref: 'x'.repeat(4097) }, { ref: null }, { tree: 'true' }, { tree: null }]) {
      await rejectsWith(call('POST /v1/list', body), InvalidInputError)
    }
    for (const body of [undefined, null, {}, { ref: 'nas', entries: 'yes' }, { ref: 'nas', entries: null }]) {
      await rejectsWith(call('POST /v1/versions', body), InvalidInputError)
    }
  })

  it('no body lists the top; versions come as counts, their entries only when asked', async () => {
    assert.deepEqual(((await call('POST /v1/list', undefined)) as { entries: CatalogueEntry[] }).entries.map((e) => e.name), ['nas'])
    const counted = await call('POST /v1/versions', { ref: 'nas' }) as Array<{ files: number, entries?: unknown }>
    assert.deepEqual(counted.map((v) => [v.files, v.entries]), [[2, undefined], [2, undefined]])
    const whole = await call('POST /v1/versions', { ref: 'nas', entries: true }) as Array<{ entries: unknown[] }>
    assert.deepEqual(whole.map((v) => v.entries.length), [3, 3])
  })

  it('attack on size: a name inside a long history (50,000 files x 3 versions) resolves, where a spread of its versions overflowed the stack', async () => {
    const big = routesOver(history(50_000, 3))
    const listed = await big['POST /v1/list']!({ ref: 'nas', tree: true }, signal, () => {}) as { entries: unknown[] }
    assert.equal(listed.entries.length, 50_001)
    await big['POST /v1/list']!({ ref: 'nas/f1' }, signal, () => {})
    assert.equal((await big['POST /v1/versions']!({ ref: 'nas' }, signal, () => {}) as unknown[]).length, 3)
  })
})

describe('control API: a read-only POST is not activity', () => {
  it('ls and ls --versions leave the dashboard\'s activity page alone; a change is on it', async () => {
    const seen: string[] = []
    const server = new ControlApiServer({
      address: '127.0.0.1:0',
      log: silentLoggerFactory('test'),
      keys: { control: () => 'k', metrics: () => 'm' },
      routes: { 'POST /v1/list': async () => ({ entries: [] }), 'POST /v1/versions': async () => [], 'POST /v1/share': async () => ({}) },
      readOnlyRoutes: OWNER_READ_ONLY_ROUTES,
      onCall: (route) => seen.push(route)
    })
    const url = await server.start()
    try {
      for (const path of ['/v1/list', '/v1/versions', '/v1/share']) await (await fetch(url + path, { method: 'POST', headers: { authorization: 'Bearer k' }, body: '{}' })).text()
    } finally {
      await server.stop()
    }
    assert.deepEqual(seen, ['POST /v1/share'])
  })
})
