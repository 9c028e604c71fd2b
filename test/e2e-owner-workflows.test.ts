import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { explained as explainedBy } from './helpers/explained.ts'
import type { CliResult } from './helpers/node-process.ts'
import { chunkFiles, ProcessFederation, sha256Of as sha256 } from './helpers/process-federation.ts'

const MIB = 1024 * 1024

/**
 * A user's whole day from the CLI, with four node processes on 127.0.0.1:
 * put, share and receive, disaster and recovery, rm.
 */
describe('owner workflows end to end (4 node processes)', () => {
  let fed: ProcessFederation
  const q = async (name: string, args: string[], input?: string): Promise<CliResult> => fed.cli(name, args, input)
  const nameOf = (peerId: string): string => fed.nameOf(peerId)
  const explained = (body: () => Promise<void>): (() => Promise<void>) => explainedBy(body, async () => fed.explain())

  before(explained(async () => {
    fed = await ProcessFederation.create({ prefix: 'e2e', names: ['a', 'b', 'c', 'd'] })
    await fed.start('b')
    await fed.startAll(['a', 'c', 'd'])
    for (const name of ['a', 'b', 'c', 'd']) await fed.waitForPeers(name, 3)
  }))

  after(async () => {
    await fed?.close()
  })

  const work = () => join(fed.dir, 'work')
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
    assert.equal(result.code, 0, `${result.stderr}\n--- daemon a ---\n${fed.node('a').stderr}`)
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
    const received = await q('d', ['receive', shareCode, '-o', join(fed.dir, 'received.bin')])
    assert.equal(received.code, 0, received.stderr)
    assert.equal(await sha256(join(fed.dir, 'received.bin')), await sha256(join(work(), 'big.bin')))

    const at = shareCode.length - 7
    const typo = shareCode.slice(0, at) + (shareCode[at] === 'A' ? 'B' : 'A') + shareCode.slice(at + 1)
    const refused = await q('d', ['receive', typo, '-o', join(fed.dir, 'typo.bin')])
    assert.equal(refused.code, 10, refused.stderr)
    assert.match(refused.stderr, /share code/)
    assert.equal(refused.stderr.trim().split('\n').length, 1)
  }))

  it('3. the NAS dies: recover from the phrase into a new data directory, ls and get everything back', explained(async () => {
    assert.equal(await fed.stop('a'), 0)
    await rm(fed.dataDir('a'), { recursive: true, force: true })
    await fed.init('a2', fed.phrase('a'))
    await fed.start('a2')
    await fed.waitForPeers('a2', 3)

    const listed = await q('a2', ['ls', '--json'])
    assert.equal(listed.code, 0, listed.stderr)
    const names = JSON.parse(listed.stdout).map((e: { name: string }) => e.name).sort()
    assert.deepEqual(names, ['album', 'album/cover.txt', 'album/empty', 'album/trip', 'album/trip/day1', 'album/trip/day1/note.txt', 'album/trip/map.bin', 'big.bin', 'small.txt'])
    // and the older version of small.txt, which ls lists with --versions
    const versions = await q('a2', ['ls', '--versions', 'small.txt', '--json'])
    assert.deepEqual(JSON.parse(versions.stdout).map((v: { version: number }) => v.version), [1, 2])

    const restored = join(fed.dir, 'restored')
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
    const before = new Map(await Promise.all(holders.map(async (h) => [h, new Set(await chunkFiles(fed.dataDir(h)))] as const)))
    const removed = await q('a2', ['rm', fileId, '--yes', '--json'])
    assert.equal(removed.code, 0, removed.stderr)
    const [report] = JSON.parse(removed.stdout)
    assert.deepEqual(report.unreachable, [])
    // 50 MB is 48 chunks of 1 MiB, each on 2 holders, plus one manifest piece on each
    assert.equal(report.deleted, 48 * 2 + 2)
    let gone = 0
    for (const h of holders) {
      const now = new Set(await chunkFiles(fed.dataDir(h)))
      for (const id of before.get(h)!) if (!now.has(id)) gone++
    }
    // the catalogue is rewritten too: its old generation's pieces go, new ones come
    assert.ok(gone >= 98, `${gone} stored files removed`)
    const listed = JSON.parse((await q('a2', ['ls', '--json'])).stdout)
    assert.ok(!listed.some((e: { fileId: string }) => e.fileId === fileId))
    assert.equal((await q('a2', ['get', fileId, '-o', join(fed.dir, 'gone.bin')])).code, 9)
  }))

  it('5. get fails over to the other holder when one storage node is gone', explained(async () => {
    assert.equal(await fed.stop('c'), 0)
    const again = join(fed.dir, 'failover')
    const tree = await q('a2', ['get', 'album', '-o', again])
    assert.equal(tree.code, 0, tree.stderr)
    for (const file of ['cover.txt', 'trip/map.bin', 'trip/day1/note.txt']) {
      assert.equal(await sha256(join(again, file)), await sha256(join(work(), 'album', file)), file)
    }
  }))
})
