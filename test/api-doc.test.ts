import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { describe, it } from 'node:test'
import { controlApiRoutes, type ControlApiInit } from '../src/assembly/control-api.ts'

const ROOT = resolve(import.meta.dirname, '..')

/** `### METHOD /path` headings of docs/api.md. */
async function documentedRoutes (): Promise<Set<string>> {
  const text = await readFile(join(ROOT, 'docs/api.md'), 'utf8')
  return new Set([...text.matchAll(/^### (GET|POST|PUT|DELETE) (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`))
}

/** What the daemon registers: the route table is built without calling any handler. */
function registeredRoutes (): Set<string> {
  return new Set(Object.keys(controlApiRoutes({} as ControlApiInit, { control: 'x', metrics: 'y' })))
}

/** `'METHOD', '/v1/…'` as the CLI's commands pass them to the client. */
async function routesTheCliCalls (): Promise<Set<string>> {
  const found = new Set<string>()
  for (const entry of await readdir(join(ROOT, 'src/cli'), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue
    const text = await readFile(join(entry.parentPath, entry.name), 'utf8')
    for (const m of text.matchAll(/'(GET|POST)', '(\/[^']+)'/g)) found.add(`${m[1]} ${m[2]}`)
  }
  return found
}

describe('docs/api.md documents the control API', () => {
  it('every route the daemon registers is documented, and every documented one exists', async () => {
    const documented = await documentedRoutes()
    const registered = registeredRoutes()
    assert.ok(registered.size >= 15, `the route table was read (${registered.size})`)
    assert.deepEqual([...registered].filter((r) => !documented.has(r)), [], 'registered but missing from docs/api.md')
    assert.deepEqual([...documented].filter((r) => !registered.has(r)), [], 'documented but not registered')
  })

  it('every route the CLI calls is registered (and so documented)', async () => {
    const calls = await routesTheCliCalls()
    assert.ok(calls.has('GET /v1/status') && calls.has('POST /v1/stop'), `the CLI's calls were found: ${[...calls].join(', ')}`)
    const registered = registeredRoutes()
    assert.deepEqual([...calls].filter((r) => !registered.has(r)), [])
  })

  it('the check itself sees a route added without its doc', async () => {
    const documented = await documentedRoutes()
    const withExtra = new Set([...registeredRoutes(), 'GET /v1/undocumented'])
    assert.deepEqual([...withExtra].filter((r) => !documented.has(r)), ['GET /v1/undocumented'])
  })
})
