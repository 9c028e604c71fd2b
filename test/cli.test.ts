import assert from 'node:assert/strict'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { NodeProcess, runQuloud } from './helpers/node-process.ts'
import { tempDir } from './helpers/temp-dir.ts'

function assertOneLineError (stderr: string): void {
  const lines = stderr.trim().split('\n')
  assert.equal(lines.length, 1, `expected one line, got:\n${stderr}`)
  assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace')
}

describe('quloud CLI', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  before(async () => { dir = await tempDir() })
  after(async () => { await dir.cleanup() })

  it('init creates a node, prints 24 words once, keeps secrets 0600, refuses a second init', async () => {
    const dataDir = join(dir.path, 'a')
    const first = await runQuloud(['init', '--data-dir', dataDir])
    assert.equal(first.code, 0, first.stderr)
    const lastLine = first.stdout.trim().split('\n').at(-1)!
    assert.equal(lastLine.split(' ').length, 24)
    for (const file of ['identity.key', 'owner.secret', 'node.secret']) {
      assert.equal((await stat(join(dataDir, file))).mode & 0o777, 0o600, file)
    }
    const second = await runQuloud(['init', '--data-dir', dataDir])
    assert.equal(second.code, 4)
    assertOneLineError(second.stderr)
    assert.doesNotMatch(second.stdout, /\w+( \w+){23}/, 'the phrase is never shown again')
  })

  it('init --json for scripts; QULOUD_DATA_DIR is honoured', async () => {
    const dataDir = join(dir.path, 'env')
    const result = await runQuloud(['init', '--json'], { env: { QULOUD_DATA_DIR: dataDir } })
    assert.equal(result.code, 0, result.stderr)
    const parsed = JSON.parse(result.stdout)
    assert.equal(parsed.dataDir, dataDir)
    assert.match(parsed.peerId, /^12D3KooW/)
    assert.equal(parsed.recoveryPhrase.split(' ').length, 24)
  })

  it('init --recover reads the phrase from stdin; a wrong phrase exits 10 and creates nothing', async () => {
    const original = JSON.parse((await runQuloud(['init', '--json', '--data-dir', join(dir.path, 'orig')])).stdout)
    const words: string[] = original.recoveryPhrase.split(' ')
    const wrong = [...words.slice(0, 23), words[23] === 'abandon' ? 'ability' : 'abandon'].join(' ')
    const refused = await runQuloud(['init', '--recover', '--data-dir', join(dir.path, 'bad')], { input: wrong + '\n' })
    assert.equal(refused.code, 10, refused.stderr)
    assertOneLineError(refused.stderr)
    assert.equal(await stat(join(dir.path, 'bad')).then(() => true, () => false), false)
    const recovered = await runQuloud(['init', '--recover', '--json', '--data-dir', join(dir.path, 'good')], { input: `  ${original.recoveryPhrase.toUpperCase()}  \n` })
    assert.equal(recovered.code, 0, recovered.stderr)
    const same = await Promise.all(['orig', 'good'].map(async (d) => readFile(join(dir.path, d, 'owner.secret'))))
    assert.ok(same[0]!.equals(same[1]!), 'the same owner secret')
    const empty = await runQuloud(['init', '--recover', '--data-dir', join(dir.path, 'none')])
    assert.equal(empty.code, 10)
  })

  it('usage errors exit 2 with one line: unknown flag, unknown command, bad size', async () => {
    for (const args of [['--bogus'], ['frobnicate'], ['start', '--capacity', '12 parsecs'], ['start', '--capacity', '-5GB']]) {
      const result = await runQuloud(args)
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`)
      assertOneLineError(result.stderr)
    }
  })

  it('a missing data directory exits 3 with the init hint, for start and client verbs alike; status with no daemon exits 5', async () => {
    const missing = join(dir.path, 'nope')
    const start = await runQuloud(['start', '--data-dir', missing])
    assert.equal(start.code, 3)
    assertOneLineError(start.stderr)
    for (const verb of [['status'], ['ls'], ['stop'], ['config', 'list']]) {
      const result = await runQuloud([...verb, '--data-dir', missing])
      assert.equal(result.code, 3, `${verb.join(' ')}: ${result.stderr}`)
      assertOneLineError(result.stderr)
      assert.match(result.stderr, /quloud init --data-dir/, 'the hint that works')
    }
    const dataDir = join(dir.path, 'idle')
    assert.equal((await runQuloud(['init', '--data-dir', dataDir, '--json'])).code, 0)
    const status = await runQuloud(['status', '--data-dir', dataDir])
    assert.equal(status.code, 5)
    assertOneLineError(status.stderr)
    assert.match(status.stderr, /quloud start --data-dir/)
  })

  it('a broken config exits 7', async () => {
    const dataDir = join(dir.path, 'badconfig')
    assert.equal((await runQuloud(['init', '--data-dir', dataDir, '--json'])).code, 0)
    await writeFile(join(dataDir, 'config.json'), '{"capacity": "lots"}')
    const result = await runQuloud(['start', '--data-dir', dataDir])
    assert.equal(result.code, 7)
    assertOneLineError(result.stderr)
  })

  it('two daemons side by side: status reports each; wrong token exits 6; SIGTERM exits 0 quickly', async () => {
    const dirs = [join(dir.path, 'n1'), join(dir.path, 'n2')]
    for (const d of dirs) assert.equal((await runQuloud(['init', '--data-dir', d, '--json'])).code, 0)
    const daemons = await NodeProcess.startAll(dirs.map((dataDir) => ({ dataDir, args: ['--no-mdns'] })))
    try {
      const peers = new Set<string>()
      for (const d of dirs) {
        const result = await runQuloud(['status', '--json', '--data-dir', d])
        assert.equal(result.code, 0, result.stderr)
        const status = JSON.parse(result.stdout)
        peers.add(status.peerId)
        assert.ok(status.addresses.some((a: string) => a.startsWith('/ip4/127.0.0.1/tcp/')), status.addresses)
        assert.equal(status.usedBytes, 0)
        assert.equal(typeof status.version, 'string')
      }
      assert.equal(peers.size, 2)
      const human = await runQuloud(['status', '--data-dir', dirs[0]!])
      assert.match(human.stdout, /Peer id:\s+12D3KooW/)

      await writeFile(join(dirs[1]!, 'api.token'), 'not-the-token\n', { mode: 0o600 })
      const wrong = await runQuloud(['status', '--data-dir', dirs[1]!])
      assert.equal(wrong.code, 6)
      assertOneLineError(wrong.stderr)
    } finally {
      // every daemon stopped before any is judged: a failed one leaves none running
      const codes = await Promise.all(daemons.map(async (daemon) => daemon.stop()))
      daemons.forEach((daemon, i) => {
        assert.equal(codes[i], 0, daemon.stderr)
        // its own shutdown finished, not cut off by the daemon's limit (SHUTDOWN_LIMIT_MS)
        assert.doesNotMatch(daemon.stderr, /shutdown took over/, daemon.stderr)
      })
    }
    const after = await runQuloud(['status', '--data-dir', dirs[0]!])
    assert.equal(after.code, 5)
  })

  it('a second daemon on the same data directory is refused with exit 3', async () => {
    const dataDir = join(dir.path, 'twice')
    assert.equal((await runQuloud(['init', '--data-dir', dataDir, '--json'])).code, 0)
    const daemon = await NodeProcess.start({ dataDir, args: ['--no-mdns'] })
    try {
      const second = await runQuloud(['start', '--data-dir', dataDir, '--listen', '/ip4/127.0.0.1/tcp/0'])
      assert.equal(second.code, 3, second.stderr)
      assert.match(second.stderr, /another daemon/)
    } finally {
      daemon.child.kill('SIGINT')
      assert.equal(await daemon.exited, 0, daemon.stderr)
    }
  })
})
