import assert from 'node:assert/strict'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { request as httpRequest } from 'node:http'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { DashboardPasswordRequiredError } from '../src/adapters/dashboard/dashboard-errors.ts'
import { DashboardSessions } from '../src/adapters/dashboard/dashboard-sessions.ts'
import { startControlApi, type ControlApi, type ControlApiInit } from '../src/assembly/control-api.ts'
import { EXIT } from '../src/cli/exit-codes.ts'
import { runQuloud } from './helpers/node-process.ts'
import { tempDir } from './helpers/temp-dir.ts'

interface Answer { status: number, headers: Record<string, string | string[] | undefined>, body: string }

/** One HTTP request with exactly these headers (fetch would not let a test forge Host). */
async function send (url: string, options: { method?: string, headers?: Record<string, string>, body?: string | Buffer } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers ?? {} }, (res) => {
      const parts: Buffer[] = []
      res.on('data', (p: Buffer) => parts.push(p))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts).toString('utf8') }))
    })
    req.on('error', reject)
    req.end(options.body)
  })
}

/**
 * The dashboard's defences over the real control API assembly, with an owner that
 * records what it was asked: each attack is refused before the owner hears of it.
 */
describe('dashboard attacks', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  let api: ControlApi
  let key: string
  const calls: string[] = []
  const origin = (): string => api.url

  const owner = {
    list: async () => { calls.push('list'); return [] },
    share: async (ref: string) => { calls.push(`share ${ref}`); return { code: 'x', name: ref } },
    put: async (paths: string[]) => { calls.push(`put ${paths.join(',')}`); return paths.map((p) => ({ id: 'f', name: p })) }
  }
  const init = (dataDir: string, dashboard: ControlApiInit['dashboard'] = {}): ControlApiInit => ({
    address: '127.0.0.1:0',
    dataDir,
    peerId: '12D3KooWDashboardAttackTestPeer',
    owner: owner as unknown as ControlApiInit['owner'],
    requestStop: () => {},
    loggers: () => ({ debug () {}, info () {}, warn () {}, error () {} }),
    dashboard
  } as unknown as ControlApiInit)

  /** Logs in with the API key as the page does; the cookie and CSRF token of the new session. */
  const login = async (): Promise<{ cookie: string, csrf: string }> => {
    const res = await send(`${api.url}/ui/login`, { method: 'POST', headers: { origin: origin(), 'content-type': 'application/json' }, body: JSON.stringify({ secret: key }) })
    assert.equal(res.status, 200, res.body)
    const cookie = String(res.headers['set-cookie']).split(';')[0]!
    return { cookie, csrf: JSON.parse(res.body).csrf }
  }

  before(async () => {
    dir = await tempDir('quloud-ui-attacks-')
    api = await startControlApi(init(dir.path, { maxUploadBytes: 64 * 1024, linkTtlMs: 60_000 }))
    key = (await readFile(join(dir.path, 'api.token'), 'utf8')).trim()
  })

  after(async () => {
    await api?.stop()
    await dir?.cleanup()
  })

  it('without a session cookie: 401, and the owner is not asked', async () => {
    for (const path of ['/ui/api/session', '/ui/api/v1/files', '/ui/api/events', '/ui/api/download?ref=x']) {
      assert.equal((await send(`${api.url}${path}`)).status, 401, path)
    }
    const forged = await send(`${api.url}/ui/api/v1/files`, { headers: { cookie: 'quloud_ui_TestPeer=not-a-session' } })
    assert.equal(forged.status, 401)
    assert.deepEqual(calls, [])
  })

  it('the cookie is HttpOnly, SameSite=Strict, scoped to /ui, and opens no bearer route', async () => {
    const res = await send(`${api.url}/ui/login`, { method: 'POST', headers: { origin: origin(), 'content-type': 'application/json' }, body: JSON.stringify({ secret: key }) })
    const cookie = String(res.headers['set-cookie'])
    assert.match(cookie, /; HttpOnly/)
    assert.match(cookie, /; SameSite=Strict/)
    assert.match(cookie, /; Path=\/ui/)
    assert.doesNotMatch(cookie, /Secure/, 'plain HTTP: a Secure cookie would never come back')
    assert.equal((await send(`${api.url}/v1/files`, { headers: { cookie: cookie.split(';')[0]! } })).status, 401)
  })

  it('a cross-site POST is refused, even with the victim\'s cookie and CSRF token', async () => {
    const { cookie, csrf } = await login()
    const body = JSON.stringify({ ref: 'photo.jpg' })
    const evil = await send(`${api.url}/ui/api/v1/share`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrf, origin: 'https://evil.example', 'content-type': 'application/json' }, body })
    assert.equal(evil.status, 403)
    assert.equal(JSON.parse(evil.body).error.code, 'forbidden')
    const noOrigin = await send(`${api.url}/ui/api/v1/share`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' }, body })
    assert.equal(noOrigin.status, 403, 'a POST without Origin is not the page\'s')
    const otherPort = await send(`${api.url}/ui/api/v1/share`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrf, origin: 'http://127.0.0.1:1', 'content-type': 'application/json' }, body })
    assert.equal(otherPort.status, 403, 'another port of the same host is another origin')
    assert.deepEqual(calls.filter((c) => c.startsWith('share')), [])
  })

  it('a POST without the session\'s CSRF token is refused; with it, it works', async () => {
    const { cookie, csrf } = await login()
    const other = await login()
    const headers = { cookie, origin: origin(), 'content-type': 'application/json' }
    const body = JSON.stringify({ ref: 'photo.jpg' })
    assert.equal((await send(`${api.url}/ui/api/v1/share`, { method: 'POST', headers, body })).status, 403)
    assert.equal((await send(`${api.url}/ui/api/v1/share`, { method: 'POST', headers: { ...headers, 'x-csrf-token': other.csrf }, body })).status, 403, 'another session\'s token')
    assert.deepEqual(calls.filter((c) => c.startsWith('share')), [])
    assert.equal((await send(`${api.url}/ui/api/v1/share`, { method: 'POST', headers: { ...headers, 'x-csrf-token': csrf }, body })).status, 200)
    assert.deepEqual(calls.filter((c) => c.startsWith('share')), ['share photo.jpg'])
  })

  it('a login from another origin is refused (no login CSRF)', async () => {
    const res = await send(`${api.url}/ui/login`, { method: 'POST', headers: { origin: 'https://evil.example', 'content-type': 'application/json' }, body: JSON.stringify({ secret: key }) })
    assert.equal(res.status, 403)
    assert.equal(res.headers['set-cookie'], undefined)
  })

  it('a Host that is not loopback (DNS rebinding) is refused', async () => {
    const { cookie } = await login()
    const port = new URL(api.url).port
    const rebound = await send(`${api.url}/ui/api/v1/files`, { headers: { cookie, host: `rebind.evil.example:${port}` } })
    assert.equal(rebound.status, 403)
    assert.equal((await send(`${api.url}/ui/`, { headers: { host: `rebind.evil.example:${port}` } })).status, 403)
  })

  it('the one-time link works once, leaves no token in the address, and a replay is refused', async () => {
    const linked = await send(`${api.url}/v1/dashboard/link`, { method: 'POST', headers: { authorization: `Bearer ${key}` } })
    const { url } = JSON.parse(linked.body) as { url: string }
    const first = await send(url)
    assert.equal(first.status, 303)
    assert.equal(first.headers.location, '/ui/')
    const cookie = String(first.headers['set-cookie']).split(';')[0]!
    assert.equal((await send(`${api.url}/ui/api/session`, { headers: { cookie } })).status, 200)
    const replay = await send(url)
    assert.equal(replay.status, 401)
    assert.equal(replay.headers['set-cookie'], undefined)
    assert.equal((await send(`${api.url}/ui/login?token=${'A'.repeat(43)}`)).status, 401, 'a guessed token')
  })

  it('a one-time token expires', () => {
    let now = 1_000_000
    const sessions = new DashboardSessions({ linkTtlMs: 60_000, now: () => now })
    const late = sessions.issueLink()
    const early = sessions.issueLink()
    assert.ok(sessions.redeemLink(early.token))
    now += 60_000
    assert.equal(sessions.redeemLink(late.token), false, 'past its expiry')
  })

  it('routes that take the NAS\'s own paths are not reachable from the dashboard', async () => {
    const { cookie, csrf } = await login()
    for (const route of ['/ui/api/v1/get', '/ui/api/v1/put', '/ui/api/v1/receive', '/ui/api/v1/stop', '/ui/api/v1/api-key/rotate']) {
      const res = await send(`${api.url}${route}`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrf, origin: origin(), 'content-type': 'application/json' }, body: JSON.stringify({ paths: ['/etc/passwd'], ref: 'x', cwd: '/' }) })
      assert.equal(res.status, 404, route)
    }
    assert.deepEqual(calls.filter((c) => c.startsWith('put')), [])
  })

  it('an upload over the cap is refused and leaves nothing in the spool; a name with a slash is refused', async () => {
    const { cookie, csrf } = await login()
    const headers = { cookie, 'x-csrf-token': csrf, origin: origin() }
    const declared = await send(`${api.url}/ui/api/upload?name=big.bin`, { method: 'POST', headers, body: Buffer.alloc(64 * 1024 + 1) })
    assert.equal(declared.status, 413)
    // chunked, so no Content-Length gives it away: the cap counts what arrives
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${api.url}/ui/api/upload?name=big.bin`, { method: 'POST', headers: { ...headers, 'transfer-encoding': 'chunked' } }, (res) => { res.resume(); resolve(res.statusCode!) })
      req.on('error', reject)
      for (let i = 0; i < 20; i++) req.write(Buffer.alloc(8 * 1024))
      req.end()
    })
    assert.equal(chunked, 413)
    assert.equal((await send(`${api.url}/ui/api/upload?name=..%2Fescape`, { method: 'POST', headers, body: 'x' })).status, 400)
    assert.deepEqual(calls.filter((c) => c.startsWith('put')), [])
    assert.deepEqual(await readdir(join(dir.path, 'ui-spool')).catch(() => []), [])
    const ok = await send(`${api.url}/ui/api/upload?name=small.txt`, { method: 'POST', headers, body: 'hello' })
    assert.equal(ok.status, 200, ok.body)
    assert.match(calls.find((c) => c.startsWith('put')) ?? '', /small\.txt$/)
    assert.deepEqual(await readdir(join(dir.path, 'ui-spool')), [], 'the spooled copy is gone once put')
  })

  it('guessing the key is cut off after 10 failures a minute', async () => {
    const attempt = async (secret: string): Promise<number> => (await send(`${api.url}/ui/login`, { method: 'POST', headers: { origin: origin(), 'content-type': 'application/json' }, body: JSON.stringify({ secret }) })).status
    for (let i = 0; i < 10; i++) assert.equal(await attempt(`guess-${i}`), 401)
    assert.equal(await attempt(key), 401, 'even the right key waits out the minute')
  })

  it('a dashboard beyond loopback without a password is refused at start; with one, its listener serves the dashboard alone (and a crash\'s spool is gone)', async () => {
    const other = await tempDir('quloud-ui-lan-')
    try {
      await assert.rejects(startControlApi(init(other.path, { address: '0.0.0.0:0' })), DashboardPasswordRequiredError)
      assert.deepEqual((await readdir(other.path)).filter((f) => f === 'api.json'), [], 'nothing was started')
      // a crashed daemon's spooled upload: plaintext that must not outlive it
      await mkdir(join(other.path, 'ui-spool', 't-crashed'), { recursive: true })
      await writeFile(join(other.path, 'ui-spool', 't-crashed', 'diary.txt'), 'secret')
      const lan = await startControlApi(init(other.path, { address: '0.0.0.0:0', password: 'correct horse battery' }))
      try {
        assert.deepEqual(await readdir(join(other.path)).then((names) => names.filter((n) => n === 'ui-spool')), [], 'the spool left by a crash is removed at start')
        const port = new URL(lan.dashboardUrl!).port
        const otherKey = (await readFile(join(other.path, 'api.token'), 'utf8')).trim()
        assert.equal((await send(`http://127.0.0.1:${port}/v1/files`, { headers: { authorization: `Bearer ${otherKey}` } })).status, 404, 'the bearer API stays on loopback')
        const res = await send(`http://127.0.0.1:${port}/ui/login`, { method: 'POST', headers: { origin: `http://127.0.0.1:${port}`, 'content-type': 'application/json' }, body: JSON.stringify({ secret: 'correct horse battery' }) })
        assert.equal(res.status, 200, 'the password logs in')
      } finally {
        await lan.stop()
      }
    } finally {
      await other.cleanup()
    }
  })

  it('`quloud start` with a LAN dashboard and no password exits 7 before it starts the node', async () => {
    const node = await tempDir('quloud-ui-start-')
    try {
      assert.equal((await runQuloud(['init', '--json', '--data-dir', node.path])).code, 0)
      const path = join(node.path, 'config.json')
      await writeFile(path, JSON.stringify({ ...JSON.parse(await readFile(path, 'utf8')), dashboard: '0.0.0.0:0' }))
      const started = await runQuloud(['start', '--data-dir', node.path, '--listen', '/ip4/127.0.0.1/tcp/0', '--api', '127.0.0.1:0', '--no-mdns', '--federation', 'ui-lan-refused'])
      assert.equal(started.code, EXIT.config, started.stderr)
      assert.match(started.stderr, /set a password first/)
    } finally {
      await node.cleanup()
    }
  })
})
