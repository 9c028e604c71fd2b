import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { NodeStatus } from '../src/app/node-status.ts'
import { exitOf, QULOUD } from './helpers/node-process.ts'
import { ProcessFederation } from './helpers/process-federation.ts'
import { waitFor } from './helpers/wait-for.ts'

/**
 * Nothing left behind (issue 12), over real processes: an owner daemon and two storage
 * daemons. A put interrupted by Ctrl-C (SIGINT to the CLI) leaves the holders with
 * exactly the bytes they had before it once the owner's background work has run. One
 * whose owner daemon is killed (SIGKILL) is resumed by a re-put after the restart: what
 * the holders acknowledged is not sent again (small files stored whole, and the chunks of
 * a 40 MiB file cut half-way), and nothing is orphaned.
 */
const FILES = 800
const MAX_FILE_BYTES = 2048 + 7 * 1024
const BIG_BYTES = 40 * 1024 * 1024 + 4321
/** Bytes each holder has of the 40 MiB file when its put is cut... */
const CUT_AFTER = 16 * 1024 * 1024
/** ...of which the chunks in flight when the daemon died (4 sealed, stored, not yet journaled) may be sent again. */
const IN_FLIGHT = 4 * 1024 * 1024

describe('an interrupted put leaves no orphaned bytes on the holders (3 node processes)', () => {
  let fed: ProcessFederation
  const q = async (name: string, args: string[]): ReturnType<ProcessFederation['cli']> => fed.cli(name, args)
  let baseline: number[] = []
  const used = async (): Promise<number[]> => Promise.all(['s1', 's2'].map(async (name) => (await fed.node(name).api<NodeStatus>('/v1/status')).usedBytes))
  const tree = (): string => join(fed.dir, 'tree')

  const startOwner = async (): Promise<void> => {
    await fed.start('o')
    await fed.waitForPeers('o', 2, 180_000)
  }

  /** Bytes of chunks the storage nodes wrote for peers since they started (their /metrics). */
  const storedBytes = async (): Promise<number> => {
    let sum = 0
    for (const name of ['s1', 's2']) {
      const api = JSON.parse(await readFile(join(fed.dataDir(name), 'api.json'), 'utf8'))
      const token = (await readFile(join(fed.dataDir(name), 'metrics.token'), 'utf8')).trim()
      const text = await (await fetch(api.url + '/metrics', { headers: { authorization: `Bearer ${token}` } })).text()
      for (const line of text.split('\n')) if (line.startsWith('quloud_chunk_bytes_total{direction="stored"')) sum += Number(line.split(' ').at(-1))
    }
    return sum
  }

  /** Starts a put of `path` (the tree) and resolves once each holder holds `more` bytes than before; `child` is the CLI. */
  const putUnderWay = async (more = 64 * 1024, path = tree(), ready: () => Promise<boolean> = async () => true): Promise<{ child: ReturnType<typeof spawn>, exited: Promise<number | null> }> => {
    const child = spawn(QULOUD, ['put', path, '--replicas', '2', '--data-dir', fed.dataDir('o')], { stdio: 'ignore' })
    const exited = exitOf(child)
    await waitFor(async () => ((await used()).every((u, i) => u > baseline[i]! + more) && await ready()) || child.exitCode !== null,
      { what: 'the put to have sent something to both holders', timeoutMs: 180_000, intervalMs: 50 })
    assert.equal(child.exitCode, null, 'the put is still running when it is interrupted')
    return { child, exited }
  }

  before(async () => {
    fed = await ProcessFederation.create({ prefix: 'inflight', names: ['o', 's1', 's2'] })
    await fed.startAll(['s1', 's2'])
    await startOwner()
    await writeFile(join(fed.dir, 'kept.txt'), 'a file the catalogue names')
    const first = await q('o', ['put', join(fed.dir, 'kept.txt'), '--replicas', '2'])
    assert.equal(first.code, 0, `${first.stderr}\n${fed.logs(40)}`)
    baseline = await used()
    // enough small files that the put is still running when it is interrupted
    for (let d = 0; d < 10; d++) {
      await mkdir(join(tree(), `d${d}`), { recursive: true })
      for (let i = 0; i < 80; i++) await writeFile(join(tree(), `d${d}`, `IMG_${i}.jpg`), randomBytes(2048 + ((d * 80 + i) % 8) * 1024))
    }
  })

  after(async () => {
    await fed?.close()
  })

  it('Ctrl-C during put: once the owner\'s background work ran, each holder holds what it held before', async () => {
    const { child, exited } = await putUnderWay()
    child.kill('SIGINT')
    assert.notEqual(await exited, 0)
    await waitFor(async () => (await used()).every((u, i) => u === baseline[i]), { what: `holders back to ${baseline.join(', ')} bytes`, timeoutMs: 240_000, intervalMs: 500 })
      .catch(async (err) => { throw new Error(`${(err as Error).message}: now ${(await used()).join(', ')}\n${fed.logs(40)}`) })
    const listed = JSON.parse((await q('o', ['ls', '--json'])).stdout)
    assert.deepEqual(listed.map((e: { name: string }) => e.name), ['kept.txt'], 'the interrupted put entered nothing into the catalogue')
  })

  it('SIGKILL of the owner daemon during put: after a restart, a re-put adopts what the holders acknowledged and sends only the rest; nothing is left behind', async () => {
    // far enough in that many files are stored whole: their packs acknowledged and journaled (a pack's files are journaled once it is stored)
    const storedWhole = async (): Promise<number> => (await readFile(join(fed.dataDir('o'), 'work-in-flight.jsonl'), 'utf8').catch(() => '')).split('\n').filter((l) => l.includes('"kind":"stored"')).length
    const { exited } = await putUnderWay(1536 * 1024, tree(), async () => (await storedWhole()) >= 60)
    await fed.kill('o')
    assert.notEqual(await exited, 0)
    assert.ok((await used()).some((u, i) => u > baseline[i]!), 'the killed put left bytes behind for now')
    await startOwner()
    // the journal outlived the daemon: status names the put until a re-run or the grace ends it
    const afterRestart = JSON.parse((await q('o', ['status', '--json'])).stdout).work
    assert.ok(afterRestart.unfinished <= 1 && afterRestart.running === 0, JSON.stringify(afterRestart))

    const before = await storedBytes()
    const reput = await q('o', ['put', tree(), '--replicas', '2', '--json'])
    assert.equal(reput.code, 0, `${reput.stderr}\n${fed.logs(40)}`)
    const [outcome] = JSON.parse(reput.stdout)
    assert.equal(outcome.files, FILES)
    assert.ok(outcome.resumed >= 50, `${outcome.resumed} files adopted from the killed put`)
    // what went to the holders: two copies of each file not adopted (at most 9 KiB + 29 sealed) and the catalogue's pieces
    const sent = (await storedBytes()) - before
    const bound = 2 * (FILES - outcome.resumed) * (MAX_FILE_BYTES + 29) + 2 * 1024 * 1024
    assert.ok(sent <= bound, `the re-put stored ${sent} bytes, more than the ${bound} of the files it did not adopt`)
    const got = await q('o', ['get', 'tree', '-o', join(fed.dir, 'tree-back')])
    assert.equal(got.code, 0, got.stderr)
    for (let d = 0; d < 10; d++) {
      for (let i = 0; i < 80; i += 13) {
        assert.ok((await readFile(join(fed.dir, 'tree-back', `d${d}`, `IMG_${i}.jpg`))).equals(await readFile(join(tree(), `d${d}`, `IMG_${i}.jpg`))), `d${d}/IMG_${i}.jpg`)
      }
    }

    // nothing orphaned: once the tree is removed and the background work ran, each holder holds what it held before
    assert.equal((await q('o', ['rm', 'tree', '--yes'])).code, 0)
    await waitFor(async () => (await used()).every((u, i) => u === baseline[i]), { what: `holders back to ${baseline.join(', ')} bytes`, timeoutMs: 240_000, intervalMs: 500 })
      .catch(async (err) => { throw new Error(`${(err as Error).message}: now ${(await used()).join(', ')}\n${fed.logs(40)}`) })
    // status shows the journal's queue: nothing left once the background work is done
    await waitFor(async () => {
      const work = JSON.parse((await q('o', ['status', '--json'])).stdout).work
      return work?.unfinished === 0 && work.running === 0 && work.deletes === 0
    }, { what: 'status to show no unfinished put', timeoutMs: 120_000, intervalMs: 500 })
    assert.match((await q('o', ['status'])).stdout, /^Work: +no unfinished put, no delete owed$/m)
    const kept = await q('o', ['get', 'kept.txt', '-o', join(fed.dir, 'kept-back.txt')])
    assert.equal(kept.code, 0, kept.stderr)
    assert.equal(await readFile(join(fed.dir, 'kept-back.txt'), 'utf8'), 'a file the catalogue names')
  })

  it('SIGKILL of the owner daemon mid-put of a 40 MiB file: the re-put after a restart sends only the chunks the holders had not acknowledged; byte-identical get; nothing left after rm', async (t) => {
    const big = join(fed.dir, 'big.bin')
    await writeFile(big, randomBytes(BIG_BYTES))
    const { exited } = await putUnderWay(CUT_AFTER, big)
    await fed.kill('o')
    assert.notEqual(await exited, 0)
    const cut = await used()
    assert.ok(cut.every((u, i) => u > baseline[i]! + CUT_AFTER), 'the killed put left its chunks for now')
    await startOwner()

    const before = await storedBytes()
    const reput = await q('o', ['put', big, '--replicas', '2'])
    assert.equal(reput.code, 0, `${reput.stderr}\n${fed.logs(40)}`)
    assert.match(reput.stdout, /; 1 resumed from an interrupted put/, 'the human summary names the adopted file')
    // two copies of what the holders had not acknowledged, its manifest and the catalogue: not the whole file again
    const sent = (await storedBytes()) - before
    const bound = 2 * (BIG_BYTES - CUT_AFTER + IN_FLIGHT) + 2 * 1024 * 1024
    assert.ok(sent <= bound, `the re-put stored ${sent} bytes, more than the ${bound} of what was not acknowledged`)
    t.diagnostic(`holders had ${cut.map((u, i) => u - baseline[i]!).join(' and ')} bytes of the cut put; the re-put stored ${sent} bytes, ${(sent / (2 * BIG_BYTES)).toFixed(2)}x two whole copies`)
    const got = await q('o', ['get', 'big.bin', '-o', join(fed.dir, 'big-back.bin')])
    assert.equal(got.code, 0, got.stderr)
    assert.ok((await readFile(join(fed.dir, 'big-back.bin'))).equals(await readFile(big)), 'byte-identical')

    assert.equal((await q('o', ['rm', 'big.bin', '--yes'])).code, 0)
    await waitFor(async () => (await used()).every((u, i) => u === baseline[i]), { what: `holders back to ${baseline.join(', ')} bytes`, timeoutMs: 240_000, intervalMs: 500 })
      .catch(async (err) => { throw new Error(`${(err as Error).message}: now ${(await used()).join(', ')}\n${fed.logs(40)}`) })
  })
})
