import assert from 'node:assert/strict'
import { mkdir, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { lineLoggerFactory } from '../src/adapters/logging/stderr-logger.ts'
import { federationNotice } from '../src/assembly/daemon.ts'
import { runStop } from '../src/cli/commands/stop.ts'
import { EXIT, exitCodeFor } from '../src/cli/exit-codes.ts'
import { DaemonNotRunningError, StopTimeoutError } from '../src/errors.ts'
import { callApi, findDaemon } from '../src/adapters/control-api/control-api-client.ts'
import { runCli } from '../src/cli/program.ts'
import { spawn } from 'node:child_process'
import { rejectsWith } from './helpers/rejects-with.ts'
import { tempDir } from './helpers/temp-dir.ts'

const io = (): { out: (t: string) => void, err: (t: string) => void, isTty: boolean, env: NodeJS.ProcessEnv, text: () => string } => {
  let text = ''
  return { out: (t) => { text += t }, err: (t) => { text += t }, isTty: false, env: {}, text: () => text }
}

describe('daemon lifecycle', () => {
  describe('quloud stop against a daemon that does not exit', () => {
    let dir: Awaited<ReturnType<typeof tempDir>>
    let server: Server
    let stops = 0
    before(async () => {
      dir = await tempDir('quloud-stop-')
      server = createServer((req, res) => {
        req.resume()
        if (req.method === 'POST' && req.url === '/v1/stop' && req.headers.authorization === 'Bearer key') stops++
        res.setHeader('content-type', 'application/json')
        res.end(JSON.stringify({ stopping: true, pid: process.pid }))
      })
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      await mkdir(join(dir.path, 'node'))
      await writeFile(join(dir.path, 'node', 'node.json'), '{"format":1}')
      await writeFile(join(dir.path, 'node', 'api.token'), 'key\n', { mode: 0o600 })
      await writeFile(join(dir.path, 'node', 'api.json'), JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, pid: process.pid }))
    })
    after(async () => {
      await new Promise((resolve) => server.close(resolve))
      await dir.cleanup()
    })

    it('asks once, waits until --timeout, then fails with exit 12', async () => {
      let polls = 0
      await rejectsWith(runStop({ dataDir: join(dir.path, 'node'), timeout: 300 }, io(), () => { polls++; return true }), StopTimeoutError)
      assert.equal(stops, 1)
      assert.ok(polls >= 2, `polled ${polls} times`)
      assert.equal(exitCodeFor(StopTimeoutError.code), EXIT.stopTimeout)
      assert.equal(EXIT.stopTimeout, 12)
    })

    it('returns once the process is gone', async () => {
      let left = 3
      const out = io()
      assert.deepEqual(await runStop({ dataDir: join(dir.path, 'node'), timeout: 60_000, json: true }, out, () => --left > 0), { stopped: true, pid: process.pid })
      assert.deepEqual(JSON.parse(out.text()), { stopped: true, pid: process.pid })
    })
  })

  it('a stale api.json (its daemon killed) sends the key nowhere: whatever took the port gets no request', async () => {
    const dir = await tempDir('quloud-stale-')
    const heard: string[] = []
    const squatter = createServer((req, res) => { heard.push(String(req.headers.authorization)); req.resume(); res.end('{}') })
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve))
    try {
      const gone = spawn(process.execPath, ['-e', '0'])
      await new Promise((resolve) => gone.once('close', resolve))
      await mkdir(join(dir.path, 'node'))
      await writeFile(join(dir.path, 'node', 'node.json'), '{"format":1}')
      await writeFile(join(dir.path, 'node', 'api.token'), 'secret-key\n', { mode: 0o600 })
      await writeFile(join(dir.path, 'node', 'api.json'), JSON.stringify({ url: `http://127.0.0.1:${(squatter.address() as AddressInfo).port}`, pid: gone.pid }))
      const err = await runCli(['status', '--json', '--data-dir', join(dir.path, 'node')], io())
      assert.equal(err, EXIT.daemonNotRunning)
      await rejectsWith(findDaemon(join(dir.path, 'node')), DaemonNotRunningError)
      assert.deepEqual(heard, [])
    } finally {
      await new Promise((resolve) => squatter.close(resolve))
      await dir.cleanup()
    }
  })

  it('a success reply that is not JSON, or is cut mid-body, is DaemonNotRunningError, never an undefined result', async () => {
    const replies: Record<string, (res: import('node:http').ServerResponse) => void> = {
      '/html': (res) => { res.writeHead(200, { 'content-type': 'text/html' }); res.end('<html>router login</html>') },
      '/empty': (res) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end() },
      // promises more than it sends, then drops the connection
      '/cut': (res) => { res.writeHead(200, { 'content-type': 'application/json', 'content-length': 100 }); res.write('{"result":'); setTimeout(() => { res.destroy() }, 20) }
    }
    const other = createServer((req, res) => { req.resume(); replies[req.url!]!(res) })
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve))
    try {
      const endpoint = { url: `http://127.0.0.1:${(other.address() as AddressInfo).port}`, token: 'k' }
      for (const path of Object.keys(replies)) await rejectsWith(callApi(endpoint, 'GET', path), DaemonNotRunningError)
    } finally {
      await new Promise((resolve) => other.close(resolve))
    }
  })

  describe('the daemon log', () => {
    const at = (): Date => new Date('2026-12-01T00:00:00.000Z')

    it('writes only from its level up', () => {
      const lines: string[] = []
      const log = lineLoggerFactory((l) => lines.push(l), { level: 'warn', now: at })('node')
      log.debug('d')
      log.info('i')
      log.warn('w')
      log.error('e', new Error('why'))
      assert.deepEqual(lines, ['2026-12-01T00:00:00.000Z WARN  quloud:node w\n', '2026-12-01T00:00:00.000Z ERROR quloud:node e why\n'])
    })

    it('JSON lines: one parseable object per event, whatever a peer put in the message', () => {
      const lines: string[] = []
      const log = lineLoggerFactory((l) => lines.push(l), { level: 'debug', format: 'json', now: at })('protocol:store')
      const forged = 'x\n{"level":"info","msg":"all is well"}\r\x1b[2J'
      log.info(`refused ${forged}`, new Error(forged))
      log.debug('detail')
      assert.equal(lines.length, 2)
      for (const line of lines) assert.equal(line.indexOf('\n'), line.length - 1, 'one event, one line')
      assert.deepEqual(JSON.parse(lines[0]!), { time: '2026-12-01T00:00:00.000Z', level: 'info', ns: 'quloud:protocol:store', msg: `refused ${forged}`, detail: forged })
      assert.equal(JSON.parse(lines[1]!).level, 'debug')
    })
  })

  it('start on the defaults says it joins the default federation and that mDNS shows it to the LAN', () => {
    assert.match(federationNotice({ federation: 'quloud', mdns: true, bootstrap: [] }), /default federation "quloud" with mDNS on: any Quloud node on this LAN/)
    assert.doesNotMatch(federationNotice({ federation: 'quloud', mdns: false, bootstrap: [] }), /mDNS on/)
    assert.equal(federationNotice({ federation: 'family', mdns: false, bootstrap: ['/ip4/1.2.3.4/tcp/1/p2p/x'] }), 'joining federation "family" (mDNS off, 1 bootstrap peer(s))')
  })
})
