import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { describe, it } from 'node:test'
import { ControlApiServer, TextBody } from '../src/adapters/control-api/control-api-server.ts'
import { silentLoggerFactory } from '../src/adapters/logging/stderr-logger.ts'
import { rejectsWith } from './helpers/rejects-with.ts'
import { AddressInUseError } from '../src/errors.ts'

async function withServer (test: (url: string, keys: { control: string, metrics: string }) => Promise<void>): Promise<void> {
  const keys = { control: 'c'.repeat(43), metrics: 'm'.repeat(43) }
  let stopped = 0
  const server = new ControlApiServer({
    address: '127.0.0.1:0',
    log: silentLoggerFactory('api'),
    keys: { control: () => keys.control, metrics: () => keys.metrics },
    scrapeRoutes: ['GET /metrics'],
    routes: {
      'GET /metrics': async () => new TextBody('text/plain; version=0.0.4', 'quloud_up 1\n'),
      'GET /v1/status': async () => ({ ok: true }),
      'POST /v1/stop': async () => { stopped++; return { stopping: true } }
    }
  })
  const url = await server.start()
  try {
    await test(url, keys)
    assert.equal(stopped, 0, 'no refused request reached the stop handler')
  } finally {
    await server.stop()
  }
}

const get = async (url: string, key?: string, method = 'GET'): Promise<Response> =>
  fetch(url, { method, headers: key === undefined ? {} : { authorization: `Bearer ${key}` } })

describe('control API keys', () => {
  it('the metrics key opens /metrics and nothing else; the control key opens everything', async () => {
    await withServer(async (url, keys) => {
      const scraped = await get(`${url}/metrics`, keys.metrics)
      assert.equal(scraped.status, 200)
      assert.match(scraped.headers.get('content-type')!, /^text\/plain/)
      assert.equal(await scraped.text(), 'quloud_up 1\n')
      assert.equal((await get(`${url}/metrics`, keys.control)).status, 200)
      assert.equal((await get(`${url}/v1/status`, keys.control)).status, 200)
      // a leaked scrape credential must not control the node
      for (const [path, method] of [['/v1/status', 'GET'], ['/v1/stop', 'POST']] as const) {
        const refused = await get(url + path, keys.metrics, method)
        assert.equal(refused.status, 401, `${method} ${path}`)
        assert.match(refused.headers.get('www-authenticate') ?? '', /^Bearer/)
      }
    })
  })

  it('refuses no key, a key of the right length that differs, and a key with a suffix', async () => {
    await withServer(async (url, keys) => {
      for (const key of [undefined, 'x'.repeat(43), keys.control + 'x', keys.control.slice(0, -1)]) {
        assert.equal((await get(`${url}/v1/stop`, key, 'POST')).status, 401, String(key))
        assert.equal((await get(`${url}/metrics`, key)).status, 401, String(key))
      }
    })
  })

  it('reads the keys at each request: a rotated key opens, the old one no longer does', async () => {
    await withServer(async (url, keys) => {
      const old = keys.control
      keys.control = 'n'.repeat(43)
      assert.equal((await get(`${url}/v1/status`, old)).status, 401)
      assert.equal((await get(`${url}/v1/status`, keys.control)).status, 200)
    })
  })

  it('a taken port is AddressInUseError, one line that names the address', async () => {
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const { port } = blocker.address() as AddressInfo
    try {
      const server = new ControlApiServer({ address: `127.0.0.1:${port}`, log: silentLoggerFactory('api'), keys: { control: () => 'a', metrics: () => 'b' }, routes: {} })
      await rejectsWith(server.start(), AddressInUseError)
      await assert.rejects(server.start(), (err: Error) => new RegExp(`127\\.0\\.0\\.1:${port} is in use`).test(err.message) && !err.message.includes('\n'))
    } finally {
      await new Promise((resolve) => blocker.close(resolve))
    }
  })
})
