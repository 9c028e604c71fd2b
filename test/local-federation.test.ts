import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { callApi, findDaemon, processAlive } from '../src/adapters/control-api/control-api-client.ts'
import { collect, exitOf, QULOUD, runQuloud } from './helpers/node-process.ts'
import { tempDir } from './helpers/temp-dir.ts'

interface Shown {
  federation: string
  folder: string
  nodes: Array<{ name: string, dataDir: string, log: string, peerId: string, address: string, api: string, pid: number }>
}

/** How long N daemons may take to start and find each other on a loaded 2-core machine. */
const UP_LIMIT_MS = 240_000

/** `quloud local-federation --json ARGS` until its JSON line; the child is killed in `t.after` if a test fails first. */
async function launch (t: { after: (fn: () => Promise<void>) => void }, args: string[]): Promise<{ child: ChildProcess, exited: Promise<number | null>, shown: Shown, stderr: () => string }> {
  const child = spawn(QULOUD, ['local-federation', '--json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = exitOf(child)
  const stderr = collect(child.stderr!).text
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    await exited
  })
  const shown = await new Promise<Shown>((resolve, reject) => {
    let text = ''
    const timer = setTimeout(() => reject(new Error(`no JSON line within ${UP_LIMIT_MS} ms:\n${stderr()}`)), UP_LIMIT_MS)
    child.stdout!.setEncoding('utf8').on('data', (part: string) => {
      text += part
      const newline = text.indexOf('\n')
      if (newline >= 0) {
        clearTimeout(timer)
        resolve(JSON.parse(text.slice(0, newline)))
      }
    })
    void exited.then((code) => reject(new Error(`local-federation exited with ${code} before it was up:\n${stderr()}`)))
  })
  return { child, exited, shown, stderr }
}

async function gone (path: string): Promise<boolean> {
  return stat(path).then(() => false, () => true)
}

describe('quloud local-federation, over real processes', () => {
  it('starts 3 nodes on loopback that store, fetch and share for each other, and Ctrl-C stops them all and removes the folder', { timeout: 600_000 }, async (t) => {
    const { child, exited, shown, stderr } = await launch(t, ['--nodes', '3'])
    assert.match(shown.federation, /^local-[0-9a-f]{8}$/)
    assert.equal(shown.nodes.length, 3)
    assert.deepEqual(shown.nodes.map((n) => n.name), ['node1', 'node2', 'node3'])
    for (const node of shown.nodes) {
      assert.ok(node.dataDir.startsWith(shown.folder + '/'), node.dataDir)
      assert.match(node.address, new RegExp(`^/ip4/127\\.0\\.0\\.1/tcp/\\d+/p2p/${node.peerId}$`))
      assert.match(node.api, /^http:\/\/127\.0\.0\.1:\d+$/)
      const health = await callApi<{ status: string, peerId: string }>(await findDaemon(node.dataDir), 'GET', '/v1/health')
      assert.deepEqual([health.status, health.peerId], ['ok', node.peerId])
    }
    assert.equal(new Set(shown.nodes.map((n) => n.address.split('/')[4])).size, 3, 'three distinct ports')

    const work = await tempDir()
    t.after(work.cleanup)
    const original = join(work.path, 'photo.bin')
    await writeFile(original, randomBytes(300_000))
    const [n1, n2] = [shown.nodes[0]!.dataDir, shown.nodes[1]!.dataDir]
    const put = await runQuloud(['put', original, '--data-dir', n1, '--json'])
    assert.equal(put.code, 0, put.stderr)
    assert.doesNotMatch(put.stderr, /under-replicated/, 'the scheme fits the federation')
    const got = await runQuloud(['get', 'photo.bin', '-o', join(work.path, 'got.bin'), '--data-dir', n1, '--json'])
    assert.equal(got.code, 0, got.stderr)
    assert.deepEqual(await readFile(join(work.path, 'got.bin')), await readFile(original))
    const share = await runQuloud(['share', 'photo.bin', '--data-dir', n1, '--json'])
    assert.equal(share.code, 0, share.stderr)
    const received = await runQuloud(['receive', JSON.parse(share.stdout).code, '-o', join(work.path, 'received.bin'), '--data-dir', n2, '--json'])
    assert.equal(received.code, 0, received.stderr)
    assert.deepEqual(await readFile(join(work.path, 'received.bin')), await readFile(original))

    child.kill('SIGINT')
    assert.equal(await exited, 0, stderr())
    for (const node of shown.nodes) assert.equal(processAlive(node.pid), false, `${node.name} (pid ${node.pid}) still runs`)
    assert.ok(await gone(shown.folder), 'the temporary folder is removed')
  })

  it('with --keep, SIGTERM stops every node cleanly and keeps the folder with the logs', { timeout: 600_000 }, async (t) => {
    const { exited, shown, child, stderr } = await launch(t, ['--nodes', '2', '--keep'])
    t.after(async () => rm(shown.folder, { recursive: true, force: true }))
    child.kill('SIGTERM')
    assert.equal(await exited, 0, stderr())
    assert.match(stderr(), new RegExp(`kept ${shown.folder}`))
    for (const node of shown.nodes) {
      assert.equal(processAlive(node.pid), false, `${node.name} still runs`)
      // a daemon that went through its shutdown removes api.json; a killed one leaves it
      assert.ok(await gone(join(node.dataDir, 'api.json')), `${node.name} stopped without its shutdown`)
      assert.match(await readFile(node.log, 'utf8'), /stopped/)
    }
  })

  it('a node that dies stops the others, removes the folder and fails naming its log', { timeout: 600_000 }, async (t) => {
    const { exited, shown, stderr } = await launch(t, ['--nodes', '3'])
    const victim = shown.nodes[1]!
    process.kill(victim.pid, 'SIGKILL')
    assert.equal(await exited, 1, stderr())
    assert.match(stderr(), new RegExp(`node2 exited .*${victim.log.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`))
    for (const node of shown.nodes) assert.equal(processAlive(node.pid), false, `${node.name} still runs`)
    assert.ok(await gone(shown.folder))
  })

  it('refuses a node count outside 2 to 12 before starting anything', async () => {
    for (const n of ['1', '13', 'x']) {
      const result = await runQuloud(['local-federation', '--nodes', n], { timeoutMs: 60_000 })
      assert.equal(result.code, 2, `--nodes ${n}: ${result.stderr}`)
    }
  })
})
