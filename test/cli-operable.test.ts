import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { access, readFile, stat } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { NodeProcess, QULOUD, runQuloud } from './helpers/node-process.ts'
import { tempDir } from './helpers/temp-dir.ts'

const exists = async (path: string): Promise<boolean> => access(path).then(() => true, () => false)
const federation = (): string => `t-${randomBytes(4).toString('hex')}`

function assertOneLineError (stderr: string): void {
  const lines = stderr.trim().split('\n')
  assert.equal(lines.length, 1, `expected one line, got:\n${stderr}`)
  assert.doesNotMatch(stderr, /\n\s+at |node:internal|libp2p/, 'no stack trace, no library internals')
}

async function takenPort (): Promise<{ port: number, server: Server }> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { port: (server.address() as AddressInfo).port, server }
}

async function scrape (url: string, key: string, path = '/metrics', method = 'GET'): Promise<{ status: number, text: string }> {
  const res = await fetch(url + path, { method, headers: { authorization: `Bearer ${key}` } })
  return { status: res.status, text: await res.text() }
}

describe('quloud CLI: operable', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  before(async () => { dir = await tempDir('quloud-operable-') })
  after(async () => { await dir.cleanup() })

  it('a closed standard output (quloud … | head) is one line and exit 141, not a stack trace', async () => {
    const child = spawn(QULOUD, ['--help'], { stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout.destroy()
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
    assert.equal(code, 141, stderr)
    assertOneLineError(stderr)
    assert.match(stderr, /broken pipe/)
  })

  it('--json puts errors on stdout as {"error": {code, message, exitCode}}, usage errors included', async () => {
    const missing = await runQuloud(['status', '--json', '--data-dir', join(dir.path, 'nowhere')])
    assert.equal(missing.code, 3)
    assert.deepEqual(Object.keys(JSON.parse(missing.stdout).error).sort(), ['code', 'exitCode', 'message'])
    assert.equal(JSON.parse(missing.stdout).error.code, 'data-dir')
    assert.equal(JSON.parse(missing.stdout).error.exitCode, 3)
    const usage = await runQuloud(['status', '--json', '--bogus'])
    assert.equal(usage.code, 2)
    assert.deepEqual(JSON.parse(usage.stdout).error.exitCode, 2)
    const plain = await runQuloud(['status', '--data-dir', join(dir.path, 'nowhere')])
    assert.equal(plain.stdout, '', 'without --json stdout stays empty')
  })

  it('init takes settings; a capacity the disk cannot hold or an unknown setting is refused and creates nothing', async () => {
    const dataDir = join(dir.path, 'settings')
    const name = federation()
    const made = await runQuloud(['init', '--json', '--data-dir', dataDir, '--federation', name, '--capacity', '1GB', '--no-mdns',
      '--api', '127.0.0.1:0', '--set', 'proofWorkers=2', '--set', 'logFormat=json'])
    assert.equal(made.code, 0, made.stderr)
    assert.equal(JSON.parse(made.stdout).federation, name)
    const config = JSON.parse(await readFile(join(dataDir, 'config.json'), 'utf8'))
    assert.equal(config.federation, name)
    assert.equal(config.capacity, 1e9)
    assert.equal(config.mdns, false)
    assert.equal(config.api, '127.0.0.1:0')
    assert.equal(config.proofWorkers, 2)
    assert.equal(config.logFormat, 'json')
    assert.equal((await stat(join(dataDir, 'api.token'))).mode & 0o777, 0o600, 'the API key is made at init, private')
    assert.equal((await stat(join(dataDir, 'metrics.token'))).mode & 0o777, 0o600)

    for (const [args, code] of [[['--capacity', '5PB'], 7], [['--set', 'bogus=1'], 7], [['--set', 'noequals'], 2], [['--federation', 'IPFS'], 7]] as const) {
      const target = join(dir.path, `refused-${randomBytes(3).toString('hex')}`)
      const refused = await runQuloud(['init', '--data-dir', target, ...args])
      assert.equal(refused.code, code, `${args.join(' ')}: ${refused.stderr}`)
      assertOneLineError(refused.stderr)
      assert.equal(await exists(target), false, `${args.join(' ')} created nothing`)
    }
  })

  it('init --recover restores what is needed to rejoin: federation and bootstrap from flags', async () => {
    const original = JSON.parse((await runQuloud(['init', '--json', '--data-dir', join(dir.path, 'lost')])).stdout)
    const name = federation()
    const bootstrap = `/ip4/127.0.0.1/tcp/4101/p2p/${original.peerId}`
    const recovered = await runQuloud(['init', '--recover', '--json', '--data-dir', join(dir.path, 'found'), '--federation', name, '--bootstrap', bootstrap],
      { input: original.recoveryPhrase + '\n' })
    assert.equal(recovered.code, 0, recovered.stderr)
    const config = JSON.parse(await readFile(join(dir.path, 'found', 'config.json'), 'utf8'))
    assert.equal(config.federation, name)
    assert.deepEqual(config.bootstrap, [bootstrap])
    const human = await runQuloud(['init', '--recover', '--data-dir', join(dir.path, 'found2')], { input: original.recoveryPhrase + '\n' })
    assert.match(human.stdout, /Federation: quloud \(the default; if your files are in another, `quloud config set federation NAME`\)/)
  })

  it('config list/get/set/unset: checked before writing, a bad value leaves the file as it was', async () => {
    const dataDir = join(dir.path, 'config')
    assert.equal((await runQuloud(['init', '--json', '--data-dir', dataDir])).code, 0)
    const set = await runQuloud(['config', 'set', 'capacity', '2GB', '--data-dir', dataDir])
    assert.equal(set.code, 0, set.stderr)
    assert.equal((await runQuloud(['config', 'get', 'capacity', '--data-dir', dataDir])).stdout, '2000000000\n')
    assert.equal((await runQuloud(['config', 'set', 'mdns', 'false', '--data-dir', dataDir])).code, 0)
    assert.equal(JSON.parse(await readFile(join(dataDir, 'config.json'), 'utf8')).mdns, false, 'JSON values are JSON')
    assert.equal((await runQuloud(['config', 'set', 'federation', 'my-friends', '--data-dir', dataDir])).code, 0)
    assert.equal((await runQuloud(['config', 'get', 'federation', '--data-dir', dataDir])).stdout, 'my-friends\n', 'text values are text')

    const before = await readFile(join(dataDir, 'config.json'), 'utf8')
    for (const [key, value] of [['capacity', 'lots'], ['capacity', '5PB'], ['bogus', '1'], ['listen', '[]'], ['api', '0.0.0.0:4102'], ['logLevel', 'loud']]) {
      const refused = await runQuloud(['config', 'set', key!, value!, '--data-dir', dataDir])
      assert.equal(refused.code, 7, `${key} ${value}: ${refused.stderr}`)
      assertOneLineError(refused.stderr)
    }
    assert.equal(await readFile(join(dataDir, 'config.json'), 'utf8'), before, 'refused values were not written')

    const list = JSON.parse((await runQuloud(['config', 'list', '--json', '--data-dir', dataDir])).stdout)
    assert.equal(list.capacity, 2e9)
    assert.equal(list.api, '127.0.0.1:4102', 'the fixed default API port')
    assert.match((await runQuloud(['config', 'list', '--data-dir', dataDir])).stdout, /^api\s+"127\.0\.0\.1:4102"\s+\(default\)$/m)
    assert.equal((await runQuloud(['config', 'unset', 'federation', '--data-dir', dataDir])).code, 0)
    assert.equal((await runQuloud(['config', 'get', 'federation', '--data-dir', dataDir])).stdout, 'quloud\n')
    assert.equal((await runQuloud(['config', 'get', 'nothing', '--data-dir', dataDir])).code, 9)
    const unset = await runQuloud(['config', 'get', 'peerQuota', '--json', '--data-dir', dataDir])
    assert.equal(unset.code, 0, 'a setting left unset is known')
    assert.equal(unset.stdout, 'null\n')
  })

  it('a taken listen port or API port stops start with one line and exit 11', async () => {
    const dataDir = join(dir.path, 'ports')
    assert.equal((await runQuloud(['init', '--json', '--no-mdns', '--federation', federation(), '--data-dir', dataDir])).code, 0)
    const { port, server } = await takenPort()
    try {
      const listen = await runQuloud(['start', '--data-dir', dataDir, '--listen', `/ip4/127.0.0.1/tcp/${port}`, '--api', '127.0.0.1:0'])
      assert.equal(listen.code, 11, listen.stderr)
      assertOneLineError(listen.stderr)
      assert.match(listen.stderr, /listen address is in use/)
      const api = await runQuloud(['start', '--data-dir', dataDir, '--listen', '/ip4/127.0.0.1/tcp/0', '--api', `127.0.0.1:${port}`])
      assert.equal(api.code, 11, api.stderr)
      assert.match(api.stderr, new RegExp(`control API address 127\\.0\\.0\\.1:${port} is in use`))
      assert.doesNotMatch(api.stderr, /\n\s+at /)
      assert.equal(api.stderr.trim().split('\n').filter((l) => l.startsWith('quloud:')).length, 1, 'one error line after the start-up log')
      assert.equal(await exists(join(dataDir, 'api.json')), false, 'the refused start left no api.json')
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })

  it('a running daemon: JSON log file, metrics behind their own key, key rotation, and quloud stop', async () => {
    const dataDir = join(dir.path, 'daemon')
    const logFile = join(dir.path, 'daemon.log')
    assert.equal((await runQuloud(['init', '--json', '--no-mdns', '--federation', federation(), '--data-dir', dataDir])).code, 0)
    const daemon = await NodeProcess.start({ dataDir, args: ['--log-format', 'json', '--log-file', logFile, '--capacity', '5PB'] })
    try {
      const { url } = JSON.parse(await readFile(join(dataDir, 'api.json'), 'utf8'))
      const metricsKey = (await readFile(join(dataDir, 'metrics.token'), 'utf8')).trim()
      const controlKey = (await readFile(join(dataDir, 'api.token'), 'utf8')).trim()
      const metrics = await scrape(url, metricsKey)
      assert.equal(metrics.status, 200)
      for (const series of ['quloud_stored_bytes 0', 'quloud_stored_chunks 0', 'quloud_peers{state="live"} 0', 'quloud_announcements_total{outcome="accepted"} 0',
        'quloud_chunk_bytes_total{direction="served"} 0', 'quloud_capacity_bytes 5000000000000000',
        'quloud_repair_files{state="degraded"} 0', 'quloud_repair_shards_total 0', 'quloud_audits_total{outcome="failed"} 0',
        'quloud_audited_holders_distrusted 0', 'quloud_repair_pending_deletions 0', 'quloud_lease_records_total{action="collected"} 0', 'quloud_lease_renewals_total{outcome="missing"} 0', 'quloud_budget_used{resource="streams",scope="strangers"} 0']) {
        assert.ok(metrics.text.split('\n').includes(series), `${series} in:\n${metrics.text}`)
      }
      assert.match(metrics.text, /^quloud_process_resident_memory_bytes \d+/m)
      assert.match(metrics.text, /^quloud_budget_limit\{resource="memory",scope="all"\} [1-9]\d*$/m, 'the memory budget\'s limit')
      assert.match(metrics.text, /^quloud_budget_limit\{resource="connections",scope="all"\} [1-9]\d*$/m)
      assert.equal((await scrape(url, metricsKey, '/v1/status')).status, 401, 'the scrape key reads metrics only')
      assert.equal((await scrape(url, metricsKey, '/v1/stop', 'POST')).status, 401, 'and cannot stop the node')

      const rotated = await runQuloud(['api-key', 'rotate', '--json', '--data-dir', dataDir])
      assert.equal(rotated.code, 0, rotated.stderr)
      assert.equal(JSON.parse(rotated.stdout).daemon, true)
      assert.equal((await scrape(url, controlKey, '/v1/status')).status, 401, 'the old key is refused at once')
      assert.equal((await runQuloud(['status', '--json', '--data-dir', dataDir])).code, 0, 'the CLI reads the new key')
      assert.equal((await runQuloud(['api-key', 'rotate', '--metrics', '--data-dir', dataDir])).code, 0)
      assert.equal((await scrape(url, metricsKey)).status, 401, 'a rotated scrape key is refused')
      const shown = (await runQuloud(['api-key', 'show', '--metrics', '--data-dir', dataDir])).stdout.trim()
      assert.equal((await scrape(url, shown)).status, 200)

      const noted = await runQuloud(['config', 'set', 'logLevel', 'warn', '--data-dir', dataDir])
      assert.match(noted.stderr, /keeps its settings until it restarts/)

      const stopped = await runQuloud(['stop', '--json', '--data-dir', dataDir])
      assert.equal(stopped.code, 0, stopped.stderr)
      assert.deepEqual(JSON.parse(stopped.stdout), { stopped: true, pid: daemon.child.pid })
      assert.equal(daemon.child.exitCode ?? await daemon.exited, 0, 'stop returned after the daemon had exited')
      assert.equal(await exists(join(dataDir, 'api.json')), false)
    } finally {
      await daemon.stop()
    }
    const again = await runQuloud(['stop', '--data-dir', dataDir])
    assert.equal(again.code, 5, again.stderr)

    const lines = (await readFile(logFile, 'utf8')).trim().split('\n').map((l) => JSON.parse(l))
    assert.ok(lines.every((l) => typeof l.time === 'string' && typeof l.level === 'string' && l.ns.startsWith('quloud:') && typeof l.msg === 'string'))
    assert.ok(lines.some((l) => l.level === 'warn' && /capacity .* exceeds what the disk can hold/.test(l.msg)), 'start warns about a capacity the disk cannot hold')
    assert.ok(lines.some((l) => /joining federation "t-/.test(l.msg)), 'says which federation it joins')
    assert.ok(lines.some((l) => l.msg === 'quloud stop: stopping'))
    assert.doesNotMatch(daemon.stderr, /INFO|"level"/, 'the log went to the file, not stderr')
    assert.equal((await stat(logFile)).mode & 0o777, 0o600)
  })
})
