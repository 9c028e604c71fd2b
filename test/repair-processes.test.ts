import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { FileHealth } from '../src/domain/formats/manifest-health.ts'
import { chunkFiles, ProcessFederation, sha256Of } from './helpers/process-federation.ts'
import { waitFor } from './helpers/wait-for.ts'

const NODES = 8
const SCHEME = { data: 3, parity: 2 }
const WIDTH = SCHEME.data + SCHEME.parity
/** Short timers: an audit round every 2 s, a holder away 5 s is replaced. */
const TIMERS = { auditEvery: 2000, auditSample: 1, repairAfter: 5000 }

/**
 * Audits and repair over real processes: the owner `a` and seven storage nodes; a 3+2
 * file on five of them. Two holders stop: the file reads back, and after repairAfter
 * its shards are rebuilt on the two spare nodes (ls shows it whole again); when the
 * stopped ones return, what they held of the file is deleted. Then a holder's chunk
 * files are deleted behind its back: an audit catches it, and the file is repaired.
 */
describe(`audits and repair across ${NODES} node processes`, () => {
  let fed: ProcessFederation
  const names = Array.from({ length: NODES }, (_, i) => String.fromCharCode(97 + i))
  let path: string
  let fileId: string
  let holders: string[]

  async function stop (name: string): Promise<void> {
    assert.equal(await fed.stop(name), 0)
  }

  async function livePeers (): Promise<number> {
    const peers = await fed.cli('a', ['peers', '--json'])
    return peers.code === 0 ? JSON.parse(peers.stdout).live : 0
  }

  async function health (): Promise<FileHealth | undefined> {
    const files = await fed.node('a').api<Array<{ fileId: string, health?: FileHealth }>>('/v1/files')
    return files.find((f) => f.fileId === fileId)?.health
  }

  async function readsBack (as: string): Promise<void> {
    const get = await fed.cli('a', ['get', fileId, '-o', join(fed.dir, as)])
    assert.equal(get.code, 0, `${get.stderr}\n${fed.logs()}`)
    assert.equal(await sha256Of(join(fed.dir, as)), await sha256Of(path))
  }

  before(async () => {
    fed = await ProcessFederation.create({ prefix: 'repair', names, config: { unreachableAfterFailures: 2, unreachableAfter: 3000, ...TIMERS } })
    for (const name of ['b', ...names.filter((n) => n !== 'b')]) await fed.start(name)
    await waitFor(async () => await livePeers() >= NODES - 1, { what: `a to see ${NODES - 1} live peers`, timeoutMs: 240_000, intervalMs: 500 })
  })

  after(async () => {
    await fed?.close()
  })

  it(`a ${SCHEME.data}+${SCHEME.parity} file with ${SCHEME.parity} holders stopped reads back, and after repairAfter is whole again on other nodes`, async () => {
    path = join(fed.dir, 'photos.bin')
    await writeFile(path, randomBytes(SCHEME.data * 1024 * 1024 + 222_222))
    const put = await fed.cli('a', ['put', path, '--erasure', `${SCHEME.data}+${SCHEME.parity}`, '--json'])
    assert.equal(put.code, 0, put.stderr)
    const [outcome] = JSON.parse(put.stdout)
    fileId = outcome.id
    holders = outcome.holders
    assert.equal(new Set(holders).size, WIDTH)
    await waitFor(async () => (await health())?.healthy === WIDTH, { what: 'an audit round to read the new file', timeoutMs: 120_000, intervalMs: 500 })

    const stopped = holders.slice(0, SCHEME.parity).map((p) => fed.nameOf(p))
    for (const name of stopped) await stop(name)
    await readsBack('degraded.bin')

    const whole = await waitFor(async () => {
      const h = await health()
      return h?.healthy === WIDTH && (await livePeers()) === NODES - 1 - SCHEME.parity ? h : undefined
    }, { what: 'the repair to rebuild the stopped holders\' shards', timeoutMs: 240_000, intervalMs: 500 })
    assert.deepEqual(whole, { healthy: WIDTH, needed: SCHEME.data, total: WIDTH })
    const ls = await fed.cli('a', ['ls', '--json'])
    assert.equal(ls.code, 0, ls.stderr)
    assert.deepEqual(JSON.parse(ls.stdout).find((e: { fileId: string }) => e.fileId === fileId).health, whole)
    const check = await fed.cli('a', ['check', fileId, '--json'])
    assert.equal(check.code, 0, check.stderr)
    const [report] = JSON.parse(check.stdout)
    assert.equal(report.failed, 0)
    assert.ok(report.revision >= 2, 'a new manifest revision names the new holders')
    // the file reads back with every original holder but the stopped ones: the new shards are real
    await readsBack('repaired.bin')

    const status = JSON.parse((await fed.cli('a', ['status', '--json'])).stdout)
    assert.ok(status.repair.repairedShards >= 2 * SCHEME.parity, `rebuilt ${status.repair.repairedShards}`)

    // the stopped holders return: what they held of the file is deleted from them
    const heldBefore = new Map(await Promise.all(stopped.map(async (n) => [n, (await chunkFiles(fed.dataDir(n))).length] as const)))
    for (const name of stopped) await fed.start(name)
    await waitFor(async () => {
      for (const name of stopped) if ((await chunkFiles(fed.dataDir(name))).length > heldBefore.get(name)! - 2) return false
      return true
    }, { what: 'the returned holders\' replaced shards to be deleted', timeoutMs: 240_000, intervalMs: 1000 })
  })

  it('a holder whose chunk files are deleted behind its back is caught by an audit, distrusted, and the file repaired', async () => {
    await waitFor(async () => await livePeers() >= NODES - 1, { what: 'every node live again', timeoutMs: 240_000, intervalMs: 500 })
    const victim = fed.nameOf(holders[SCHEME.parity]!)
    const files = await chunkFiles(fed.dataDir(victim))
    assert.ok(files.length > 0)
    await Promise.all(files.map(async (f) => rm(f)))
    const check = await fed.cli('a', ['check', fileId, '--repair', '--json'])
    assert.equal(check.code, 0, `${check.stderr}\n${fed.logs()}`)
    const status = await waitFor(async () => {
      const s = JSON.parse((await fed.cli('a', ['status', '--json'])).stdout)
      return s.repair.distrusted.includes(fed.node(victim).peerId) ? s : undefined
    }, { what: 'an audit to catch the holder', timeoutMs: 120_000, intervalMs: 500 })
    assert.ok(status.repair.distrusted.includes(fed.node(victim).peerId))
    await waitFor(async () => (await health())?.healthy === WIDTH, { what: 'the file to be whole again without the caught holder', timeoutMs: 240_000, intervalMs: 500 })
    await stop(victim)
    await readsBack('after-audit.bin')
  })
})
