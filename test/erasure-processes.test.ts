import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { NodeProcess, runQuloud } from './helpers/node-process.ts'
import { tempDir } from './helpers/temp-dir.ts'

const NODES = 8
const SCHEME = { data: 4, parity: 3 }

async function sha256 (path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex')
}

/** Chunk files a node's chunk store holds. */
async function storedChunks (dataDir: string): Promise<number> {
  const root = join(dataDir, 'chunks', 'chunks')
  let n = 0
  for (const shard of await readdir(root).catch(() => [] as string[])) n += (await readdir(join(root, shard))).length
  return n
}

async function waitFor (what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!await check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

/**
 * Erasure coding over real processes: 8 daemons on 127.0.0.1, the owner `a` and seven
 * storage nodes; a file put with 4+3 is one shard per node per stripe, and reads back
 * byte-identical with any 3 of its holders stopped (here: those of three data shards,
 * so the get must decode from parity).
 */
describe(`erasure-coded files across ${NODES} node processes`, () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  const federation = `erasure-${randomBytes(4).toString('hex')}`
  const nodes = new Map<string, NodeProcess>()
  const names = Array.from({ length: NODES }, (_, i) => String.fromCharCode(97 + i))
  let dataDirOf: (name: string) => string
  let q: (name: string, args: string[]) => ReturnType<typeof runQuloud>
  const byPeer = new Map<string, string>()

  async function start (name: string, bootstrap: string[]): Promise<void> {
    const args = ['--federation', federation, '--no-mdns', ...(bootstrap.length > 0 ? ['--bootstrap', ...bootstrap] : [])]
    const node = await NodeProcess.start({ dataDir: dataDirOf(name), args, startTimeoutMs: 180_000 })
    nodes.set(name, node)
    byPeer.set(node.peerId, name)
  }

  before(async () => {
    dir = await tempDir('quloud-erasure-')
    dataDirOf = (name) => join(dir.path, name)
    q = async (name, args) => runQuloud([...args, '--data-dir', dataDirOf(name)], { timeoutMs: 300_000 })
    for (const name of names) {
      const init = await runQuloud(['init', '--json', '--data-dir', dataDirOf(name)])
      assert.equal(init.code, 0, init.stderr)
      const path = join(dataDirOf(name), 'config.json')
      const config = JSON.parse(await readFile(path, 'utf8'))
      await writeFile(path, JSON.stringify({ ...config, announceInterval: 2000, livenessInterval: 1000, pingTimeout: 2000, discoveryInterval: 2000 }))
    }
    await start('b', [])
    const b = JSON.parse((await q('b', ['status', '--json'])).stdout)
    const bootstrap = b.addresses.filter((addr: string) => addr.includes('/ip4/127.0.0.1/'))
    for (const name of names.filter((n) => n !== 'b')) await start(name, bootstrap)
    await waitFor(`a to see ${NODES - 1} live peers`, async () => {
      const peers = await q('a', ['peers', '--json'])
      return peers.code === 0 && JSON.parse(peers.stdout).live >= NODES - 1
    }, 240_000)
  })

  after(async () => {
    for (const node of nodes.values()) await node.stop()
    await dir?.cleanup()
  })

  it(`a ${SCHEME.data}+${SCHEME.parity} file reads back byte-identical with ${SCHEME.parity} holders stopped`, async () => {
    const path = join(dir.path, 'video.bin')
    // three stripes of four 1 MiB shards, the last one short
    await writeFile(path, randomBytes(2 * 4 * 1024 * 1024 + 333_333))
    const put = await q('a', ['put', path, '--erasure', `${SCHEME.data}+${SCHEME.parity}`, '--json'])
    assert.equal(put.code, 0, `${put.stderr}\n--- a ---\n${nodes.get('a')!.stderr}`)
    const [outcome] = JSON.parse(put.stdout)
    assert.equal(outcome.scheme, `${SCHEME.data}+${SCHEME.parity}`)
    assert.equal(outcome.underReplicated, false)
    // one holder per shard slot, seven slots: seven distinct nodes, so no stripe has two shards on one
    assert.equal(new Set(outcome.holders).size, SCHEME.data + SCHEME.parity)
    assert.ok(!outcome.holders.includes(nodes.get('a')!.peerId), 'the owner stores nothing on itself')

    const whole = await q('a', ['get', outcome.id, '-o', join(dir.path, 'whole.bin')])
    assert.equal(whole.code, 0, whole.stderr)
    assert.equal(await sha256(join(dir.path, 'whole.bin')), await sha256(path))

    const stopped = outcome.holders.slice(0, SCHEME.parity).map((peer: string) => byPeer.get(peer)!)
    for (const name of stopped) {
      assert.equal(await nodes.get(name)!.stop(), 0)
      nodes.delete(name)
    }
    const degraded = await q('a', ['get', outcome.id, '-o', join(dir.path, 'degraded.bin')])
    assert.equal(degraded.code, 0, `${degraded.stderr}\n--- a ---\n${nodes.get('a')!.stderr}`)
    assert.equal(await sha256(join(dir.path, 'degraded.bin')), await sha256(path))
  })

  it('a scheme wider than the live federation is refused, typed, before any shard is sent', async () => {
    const live = [...nodes.keys()].filter((n) => n !== 'a')
    const before = await Promise.all(live.map(async (n) => storedChunks(dataDirOf(n))))
    const path = join(dir.path, 'wide.bin')
    await writeFile(path, randomBytes(100_000))
    const put = await q('a', ['put', path, '--erasure', '5+3'])
    assert.notEqual(put.code, 0)
    assert.match(put.stderr, /8 shards need 8 distinct storage nodes/)
    assert.deepEqual(await Promise.all(live.map(async (n) => storedChunks(dataDirOf(n)))), before, 'no node got a byte')
  })
})
