import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { explained as explainedBy } from './helpers/explained.ts'
import { NodeProcess, runQuloud } from './helpers/node-process.ts'
import { tempDir } from './helpers/temp-dir.ts'

const MIB = 1024 * 1024

async function sha256 (path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex')
}

/** Every stored chunk file under a node's chunk store. */
async function storedChunks (dataDir: string): Promise<string[]> {
  const root = join(dataDir, 'chunks', 'chunks')
  const out: string[] = []
  for (const shard of await readdir(root).catch(() => [] as string[])) out.push(...await readdir(join(root, shard)))
  return out
}

/** Short announcement and liveness timers, so the federation settles in seconds. */
async function useShortTimers (dataDir: string): Promise<void> {
  const path = join(dataDir, 'config.json')
  const config = JSON.parse(await readFile(path, 'utf8'))
  await writeFile(path, JSON.stringify({ ...config, announceInterval: 2000, livenessInterval: 1000, pingTimeout: 2000, discoveryInterval: 2000 }))
}

/** How many lines of each daemon's log a failure message carries. */
const LOG_TAIL_LINES = 200

async function waitFor (what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!await check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

/**
 * A user's whole day from the CLI, with four node processes on 127.0.0.1:
 * put, share and receive, disaster and recovery, rm.
 */
describe('owner workflows end to end (4 node processes)', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  const nodes = new Map<string, NodeProcess>()
  const federation = `e2e-${randomBytes(4).toString('hex')}`
  let phrase = ''
  let dataDirOf: (name: string) => string
  let q: (name: string, args: string[], input?: string) => ReturnType<typeof runQuloud>

  /** Peer ids by node name, so a failure says "a sees c unreachable", not two peer ids. */
  const names = new Map<string, string>()
  /** Every daemon started, stopped ones too: their logs explain what came after. */
  const started = new Map<string, NodeProcess>()
  const nameOf = (peerId: string): string => names.get(peerId) ?? peerId

  /**
   * What every running daemon thinks of its peers and the tail of its log: appended to
   * any failure of this suite, so a flake says which peer went missing and why.
   */
  async function explain (): Promise<string> {
    const parts: string[] = []
    for (const [name, node] of started) {
      const exited = node.child.exitCode !== null || node.child.signalCode !== null
      const view = exited ? '  (stopped)' : await node.api<{ peers: Array<{ peerId: string, connected: boolean, liveness: { reachable: boolean, consecutiveFailures: number, probes: number, successes: number, lastRttMs: number | null } }> }>('/v1/peers')
        .then((answer) => answer.peers.map((p) => `  ${nameOf(p.peerId)}: ${p.liveness.reachable ? 'reachable' : 'UNREACHABLE'}, ${p.connected ? 'connected' : 'not connected'}, ` +
          `${p.liveness.successes}/${p.liveness.probes} probes ok, ${p.liveness.consecutiveFailures} failed in a row, rtt ${p.liveness.lastRttMs ?? '-'} ms`).join('\n'))
        .catch((err: Error) => `  (no answer to /v1/peers: ${err.message})`)
      const log = node.stderr.trimEnd().split('\n').slice(-LOG_TAIL_LINES).join('\n')
      parts.push(`--- daemon ${name} (${node.peerId}), ${exited ? `exited ${node.child.exitCode ?? node.child.signalCode}` : 'running'}; its peers:\n${view}\n--- daemon ${name}: last ${LOG_TAIL_LINES} log lines ---\n${log}`)
    }
    return parts.join('\n')
  }

  const explained = (body: () => Promise<void>): (() => Promise<void>) => explainedBy(body, explain)

  async function start (name: string, bootstrap: string[]): Promise<void> {
    const args = ['--federation', federation, '--no-mdns', ...(bootstrap.length > 0 ? ['--bootstrap', ...bootstrap] : [])]
    // a bound, not a goal: a loaded CI machine may take long to start four daemons
    const node = await NodeProcess.start({ dataDir: dataDirOf(name), args, startTimeoutMs: 180_000 })
    nodes.set(name, node)
    started.set(name, node)
    names.set(node.peerId, name)
  }

  async function livePeers (name: string): Promise<number> {
    const result = await q(name, ['peers', '--json'])
    return result.code === 0 ? JSON.parse(result.stdout).live : 0
  }

  before(explained(async () => {
    dir = await tempDir('quloud-e2e-')
    dataDirOf = (name) => join(dir.path, name)
    q = async (name, args, input) => runQuloud([...args, '--data-dir', dataDirOf(name)], { timeoutMs: 300_000, ...(input === undefined ? {} : { input }) })
    for (const name of ['a', 'b', 'c', 'd']) {
      const init = await runQuloud(['init', '--json', '--data-dir', dataDirOf(name)])
      assert.equal(init.code, 0, init.stderr)
      if (name === 'a') phrase = JSON.parse(init.stdout).recoveryPhrase
      await useShortTimers(dataDirOf(name))
    }
    await start('b', [])
    const b = JSON.parse((await q('b', ['status', '--json'])).stdout)
    const bootstrap = b.addresses.filter((addr: string) => addr.includes('/ip4/127.0.0.1/'))
    for (const name of ['a', 'c', 'd']) await start(name, bootstrap)
    for (const name of ['a', 'b', 'c', 'd']) await waitFor(`${name} to see 3 live peers`, async () => await livePeers(name) >= 3, 180_000)
  }))

  after(async () => {
    for (const node of nodes.values()) await node.stop()
    await dir.cleanup()
  })

  const work = () => join(dir.path, 'work')
  let fileId = ''
  let shareCode = ''

  it('1. put a 50 MB file and a nested directory with --replicas 2', explained(async () => {
    await mkdir(join(work(), 'album', 'trip', 'day1'), { recursive: true })
    await mkdir(join(work(), 'album', 'empty'), { recursive: true })
    await writeFile(join(work(), 'big.bin'), randomBytes(50 * 1000 * 1000))
    await writeFile(join(work(), 'album', 'cover.txt'), 'front cover\n')
    await writeFile(join(work(), 'album', 'trip', 'map.bin'), randomBytes(3 * MIB + 17))
    await writeFile(join(work(), 'album', 'trip', 'day1', 'note.txt'), '')
    const result = await q('a', ['put', join(work(), 'big.bin'), join(work(), 'album'), '--replicas', '2', '--json'])
    assert.equal(result.code, 0, `${result.stderr}\n--- daemon a ---\n${nodes.get('a')!.stderr}`)
    const outcomes = JSON.parse(result.stdout)
    assert.deepEqual(outcomes.map((o: { name: string }) => o.name), ['big.bin', 'album'])
    for (const outcome of outcomes) {
      assert.match(outcome.id, /^[0-9a-f]{32}$/)
      assert.equal(outcome.underReplicated, false, `${outcome.name} under-replicated, holders: ${outcome.holders.map(nameOf).join(', ')}`)
    }
    assert.equal(outcomes[1].files, 3)
    fileId = outcomes[0].id

    // more replicas than live peers: stored all the same, flagged, and the user is told
    await writeFile(join(work(), 'small.txt'), 'a small file\n')
    const wide = await q('a', ['put', join(work(), 'small.txt'), '--replicas', '5', '--json'])
    assert.equal(wide.code, 0, wide.stderr)
    assert.equal(JSON.parse(wide.stdout)[0].underReplicated, true)
    assert.equal(JSON.parse(wide.stdout)[0].holders.length, 3)
    const human = await q('a', ['put', join(work(), 'small.txt'), '--replicas', '4'])
    assert.match(human.stderr, /under-replicated/)
  }))

  it('2. another owner receives the shared file; a code with one character changed is refused', explained(async () => {
    const shared = await q('a', ['share', fileId])
    assert.equal(shared.code, 0, shared.stderr)
    shareCode = shared.stdout.trim().split('\n').at(-1)!
    const received = await q('d', ['receive', shareCode, '-o', join(dir.path, 'received.bin')])
    assert.equal(received.code, 0, received.stderr)
    assert.equal(await sha256(join(dir.path, 'received.bin')), await sha256(join(work(), 'big.bin')))

    const at = shareCode.length - 7
    const typo = shareCode.slice(0, at) + (shareCode[at] === 'A' ? 'B' : 'A') + shareCode.slice(at + 1)
    const refused = await q('d', ['receive', typo, '-o', join(dir.path, 'typo.bin')])
    assert.equal(refused.code, 10, refused.stderr)
    assert.match(refused.stderr, /share code/)
    assert.equal(refused.stderr.trim().split('\n').length, 1)
  }))

  it('3. the NAS dies: recover from the phrase into a new data directory, ls and get everything back', explained(async () => {
    assert.equal(await nodes.get('a')!.stop(), 0)
    nodes.delete('a')
    await rm(dataDirOf('a'), { recursive: true, force: true })
    const recovered = await q('a2', ['init', '--recover'], phrase + '\n')
    assert.equal(recovered.code, 0, recovered.stderr)
    await useShortTimers(dataDirOf('a2'))
    const b = JSON.parse((await q('b', ['status', '--json'])).stdout)
    await start('a2', b.addresses.filter((addr: string) => addr.includes('/ip4/127.0.0.1/')))
    await waitFor('a2 to see 3 live peers', async () => await livePeers('a2') >= 3, 180_000)

    const listed = await q('a2', ['ls', '--json'])
    assert.equal(listed.code, 0, listed.stderr)
    const names = JSON.parse(listed.stdout).map((e: { name: string }) => e.name).sort()
    assert.deepEqual(names, ['album', 'album/cover.txt', 'album/empty', 'album/trip', 'album/trip/day1', 'album/trip/day1/note.txt', 'album/trip/map.bin', 'big.bin', 'small.txt', 'small.txt'])

    const restored = join(dir.path, 'restored')
    const big = await q('a2', ['get', fileId, '-o', join(restored, 'big.bin')])
    assert.equal(big.code, 0, big.stderr)
    assert.equal(await sha256(join(restored, 'big.bin')), await sha256(join(work(), 'big.bin')))
    const tree = await q('a2', ['get', 'album', '-o', join(restored, 'album')])
    assert.equal(tree.code, 0, tree.stderr)
    for (const file of ['cover.txt', 'trip/map.bin', 'trip/day1/note.txt']) {
      assert.equal(await sha256(join(restored, 'album', file)), await sha256(join(work(), 'album', file)), file)
    }
    assert.deepEqual(await readdir(join(restored, 'album', 'empty')), [])
  }))

  it('4. rm deletes the file\'s chunks from every holder\'s store', explained(async () => {
    const holders = ['b', 'c', 'd']
    const before = new Map(await Promise.all(holders.map(async (h) => [h, new Set(await storedChunks(dataDirOf(h)))] as const)))
    const removed = await q('a2', ['rm', fileId, '--yes', '--json'])
    assert.equal(removed.code, 0, removed.stderr)
    const [report] = JSON.parse(removed.stdout)
    assert.deepEqual(report.unreachable, [])
    // 50 MB is 48 chunks of 1 MiB, each on 2 holders, plus one manifest piece on each
    assert.equal(report.deleted, 48 * 2 + 2)
    let gone = 0
    for (const h of holders) {
      const now = new Set(await storedChunks(dataDirOf(h)))
      for (const id of before.get(h)!) if (!now.has(id)) gone++
    }
    // the catalogue is rewritten too: its old generation's pieces go, new ones come
    assert.ok(gone >= 98, `${gone} stored files removed`)
    const listed = JSON.parse((await q('a2', ['ls', '--json'])).stdout)
    assert.ok(!listed.some((e: { fileId: string }) => e.fileId === fileId))
    assert.equal((await q('a2', ['get', fileId, '-o', join(dir.path, 'gone.bin')])).code, 9)
  }))

  it('5. get fails over to the other holder when one storage node is gone', explained(async () => {
    assert.equal(await nodes.get('c')!.stop(), 0)
    nodes.delete('c')
    const again = join(dir.path, 'failover')
    const tree = await q('a2', ['get', 'album', '-o', again])
    assert.equal(tree.code, 0, tree.stderr)
    for (const file of ['cover.txt', 'trip/map.bin', 'trip/day1/note.txt']) {
      assert.equal(await sha256(join(again, file)), await sha256(join(work(), 'album', file)), file)
    }
  }))
})
