import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { after, before, describe, it } from 'node:test'
import { encodeShareCode } from '../src/domain/formats/share-code.ts'
import { runQuloud } from './helpers/node-process.ts'
import { tempDir } from './helpers/temp-dir.ts'

const HOOK = pathToFileURL(resolve(import.meta.dirname, 'helpers/record-modules.ts')).href

/** Packages of the daemon graph: a client verb that resolves one of them pays ~1 s and ~100 MB. */
const DAEMON_PACKAGES = /\/node_modules\/(libp2p|@libp2p\/[^/]+|@chainsafe\/[^/]+|snarkjs|ffjavascript|wasmcurves|level|classic-level|abstract-level|protobufjs|protons-runtime)\//
/** Our own daemon-side modules: the assembly, the libp2p adapters, the proof system, the stores. */
const DAEMON_SOURCES = /\/src\/(assembly\/|adapters\/(libp2p|proof|chunk-store|metadata-store|peer-book)\/|app\/storage-service\.ts)/

/** Runs bin/quloud with the module recorder; resolves to its result and what it loaded. */
async function traced (args: string[], dir: string, name: string, input?: string): Promise<{ code: number | null, stdout: string, stderr: string, modules: string[] }> {
  const trace = join(dir, `${name}.modules`)
  const result = await runQuloud(args, { env: { NODE_OPTIONS: `--import ${HOOK}`, QULOUD_MODULE_TRACE: trace }, ...(input === undefined ? {} : { input }) })
  const modules = (await readFile(trace, 'utf8')).split('\n').filter((line) => line !== '')
  return { ...result, modules }
}

function daemonModules (modules: string[]): string[] {
  return modules.filter((url) => DAEMON_PACKAGES.test(url) || DAEMON_SOURCES.test(url))
}

/**
 * A stand-in daemon: writes node.json (as init does), api.json/api.token as `quloud start` does and answers the
 * control API, so client verbs run their whole path (find the daemon, call, render)
 * without the daemon graph in the test either.
 */
async function fakeDaemon (dataDir: string): Promise<Server> {
  const server = createServer((req, res) => {
    req.resume()
    res.setHeader('content-type', 'application/json')
    if (req.headers.authorization !== 'Bearer test-token') {
      res.statusCode = 401
      res.end('{}')
    } else if (req.url === '/v1/status') {
      res.end(JSON.stringify({
        peerId: '12D3KooWFakeDaemon', addresses: ['/ip4/127.0.0.1/tcp/1/p2p/12D3KooWFakeDaemon'], capacity: 1e9, usedBytes: 0,
        version: '0.0.0-fake', dataDir, startedAt: new Date(0).toISOString(), uptimeSeconds: 1
      }))
    } else {
      res.statusCode = 404
      res.end(JSON.stringify({ error: { code: 'not-found', message: `the fake daemon has no ${req.url}` } }))
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await mkdir(dataDir, { recursive: true })
  await writeFile(join(dataDir, 'node.json'), JSON.stringify({ format: 1 }))
  await writeFile(join(dataDir, 'api.json'), JSON.stringify({ url: `http://127.0.0.1:${port}`, pid: process.pid }))
  await writeFile(join(dataDir, 'api.token'), 'test-token\n', { mode: 0o600 })
  return server
}

describe('client verbs load only the control API client (no libp2p, snarkjs, level, protobuf)', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  let server: Server
  let dataDir: string
  before(async () => {
    dir = await tempDir('quloud-light-')
    dataDir = join(dir.path, 'node')
    server = await fakeDaemon(dataDir)
  })
  after(async () => {
    await new Promise((resolve) => server.close(resolve))
    await dir.cleanup()
  })

  it('--version and --help', async () => {
    for (const [name, args] of [['version', ['--version']], ['help', ['--help']]] as const) {
      const result = await traced([...args], dir.path, name)
      assert.equal(result.code, 0, result.stderr)
      assert.ok(result.modules.some((url) => url.endsWith('/src/cli/main.ts')), 'the recorder saw the CLI entry')
      assert.deepEqual(daemonModules(result.modules), [], name)
    }
  })

  it('status against a running daemon renders its answer', async () => {
    const result = await traced(['status', '--data-dir', dataDir], dir.path, 'status')
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, /Peer id:\s+12D3KooWFakeDaemon/)
    assert.deepEqual(daemonModules(result.modules), [])
  })

  it('every other client verb, through to the daemon\'s answer', async () => {
    const code = encodeShareCode({ readRoot: new Uint8Array(16).fill(7), writerPin: new Uint8Array(16).fill(9) })
    const verbs: Array<{ args: string[], input?: string }> = [
      { args: ['peers'] }, { args: ['ls'] }, { args: ['put', dir.path] }, { args: ['get', 'photo.jpg'] }, { args: ['rm', 'photo.jpg'] },
      { args: ['share', 'photo.jpg'] }, { args: ['shares'] }, { args: ['unshare', 'photo.jpg'] }, { args: ['receive', code] },
      { args: ['stop'] }, { args: ['api-key', 'rotate'] },
      // the code piped in, out of sight of ps and the shell history
      { args: ['receive'], input: code + '\n' }
    ]
    for (const { args, input } of verbs) {
      const result = await traced([...args, '--data-dir', dataDir], dir.path, args[0]!, input)
      // the fake daemon answers not-found: exit 9 shows the call reached it
      assert.equal(result.code, 9, `${args.join(' ')}: ${result.stderr}`)
      assert.match(result.stderr, /the fake daemon has no/)
      assert.deepEqual(daemonModules(result.modules), [], args[0])
    }
  })

  it('the recorder sees dynamic imports: init does load libp2p\'s key code', async () => {
    const result = await traced(['init', '--json', '--data-dir', join(dir.path, 'fresh')], dir.path, 'init')
    assert.equal(result.code, 0, result.stderr)
    assert.ok(daemonModules(result.modules).some((url) => url.includes('/node_modules/@libp2p/')), 'init resolved @libp2p modules')
  })
})
