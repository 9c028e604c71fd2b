import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { appendFile, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { FileWorkJournal } from '../src/adapters/data-dir/file-work-journal.ts'
import { silentLoggerFactory } from '../src/adapters/logging/stderr-logger.ts'
import { CatalogueService } from '../src/app/owner/catalogue-service.ts'
import { OwnerService } from '../src/app/owner/owner-service.ts'
import { finishWorkInFlight, GIVE_UP_AFTER_MS, OwnerJournal } from '../src/app/owner/work-in-flight.ts'
import { workLine } from '../src/cli/commands/status.ts'
import { MemoryCache, MemoryFederation } from './helpers/memory-federation.ts'
import { tempDir } from './helpers/temp-dir.ts'

const quiet = (): void => {}

describe('work in flight: nothing left behind', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  const federation = new MemoryFederation()
  let owner: OwnerService
  let catalogue: CatalogueService
  let journal: OwnerJournal
  let deps: ConstructorParameters<typeof OwnerService>[0]
  let kicks = 0

  before(async () => {
    dir = await tempDir()
    for (const peer of ['p1', 'p2', 'p3']) federation.addPeer(peer)
    journal = new OwnerJournal(new FileWorkJournal(join(dir.path, 'work-in-flight.jsonl')))
    journal.kick = () => { kicks++ }
    deps = { master: randomBytes(32), federation, log: silentLoggerFactory('test'), journal }
    catalogue = new CatalogueService({ ...deps, cache: new MemoryCache(), replicas: 3 })
    owner = new OwnerService(deps, catalogue)
    await writeFile(join(dir.path, 'first.txt'), 'first')
    await owner.put([join(dir.path, 'first.txt')], 3, quiet)
    const tree = join(dir.path, 'tree')
    await mkdir(join(tree, 'sub'), { recursive: true })
    for (let i = 0; i < 60; i++) await writeFile(join(tree, i % 3 === 0 ? 'sub' : '', `f${i}.bin`), randomBytes(500 + i))
    await writeFile(join(tree, 'big.bin'), randomBytes(3 * 1024 * 1024 + 5))
  })
  after(async () => { await dir.cleanup() })

  it('a put aborted half-way leaves records on the holders until the background work deletes every one the catalogue does not name', async () => {
    const baseline = federation.records()
    const controller = new AbortController()
    let files = 0
    await assert.rejects(owner.put([join(dir.path, 'tree')], 3, (p) => { if ((p.filesDone ?? 0) > files && ++files === 20) controller.abort() }, { signal: controller.signal }))
    assert.ok(kicks > 0, 'a failed put asks for the background work')
    const left = [...federation.records()].filter((r) => !baseline.has(r))
    assert.ok(left.length > 0, 'the aborted put had stored something')
    const report = await finishWorkInFlight(deps, catalogue, journal)
    assert.equal(report.pending, 0)
    assert.deepEqual([...federation.records()].sort(), [...baseline].sort(), 'exactly what was there before the put')
    assert.deepEqual(await journal.journal.read(), [], 'the journal is compacted')
  })

  it('a committed put is never undone, and an rm that missed a holder deletes there once it answers', async () => {
    await owner.put([join(dir.path, 'tree')], 3, quiet)
    const withTree = federation.records()
    await finishWorkInFlight(deps, catalogue, journal)
    assert.deepEqual(federation.records(), withTree, 'the background work deletes nothing the catalogue names')

    const treeIds = new Set((await owner.list()).filter((e) => e.name.startsWith('tree')).flatMap((e) => [...(e.manifest ?? []), ...(e.chunks ?? [])].map((r) => r.id)))
    assert.ok(treeIds.size > 60)
    federation.reachable.delete('p3')
    kicks = 0
    const reports = await owner.remove('tree')
    assert.ok(reports.some((r) => r.unreachable.includes('p3')))
    assert.ok(kicks > 0)
    const p3 = federation.records(['p3']).size
    assert.ok((await finishWorkInFlight(deps, catalogue, journal)).pending > 0, 'p3 is still away: tried again later')
    federation.reachable.add('p3')
    const report = await finishWorkInFlight(deps, catalogue, journal)
    assert.equal(report.pending, 0)
    assert.ok(report.deleted > 0)
    assert.ok(federation.records(['p3']).size < p3)
    // (the catalogue's own pieces on p3 are the catalogue service's: it was away for the rm's generation)
    const onP3 = [...federation.records(['p3'])].map((r) => r.split(' ')[1]!)
    assert.deepEqual(onP3.filter((id) => treeIds.has(id)), [], 'nothing of the tree stays on p3')
    assert.deepEqual(await journal.journal.read(), [])
  })

  it('an unfinished put whose holder is gone is retried, and given up after GIVE_UP_AFTER_MS', async () => {
    const file = new FileWorkJournal(join(dir.path, 'gone.jsonl'))
    const gone = new OwnerJournal(file)
    const batch = 'cd'.repeat(16)
    const young = 'ef'.repeat(16)
    await file.append({ kind: 'put', op: batch, batch, at: Date.now() - GIVE_UP_AFTER_MS - 1 })
    await file.append({ kind: 'file', op: batch, fileId: '01'.repeat(16), batched: true, holders: ['gone-peer'] })
    await file.append({ kind: 'put', op: young, batch: young, at: Date.now() })
    await file.append({ kind: 'file', op: young, fileId: '02'.repeat(16), batched: true, holders: ['gone-peer'] })
    const report = await finishWorkInFlight({ ...deps, journal: gone }, catalogue, gone)
    assert.equal(report.pending, 1)
    assert.deepEqual([...new Set((await file.read()).map((r) => r.op))], [young], 'the old op is given up, the young one kept')
  })

  it('the journal file skips a line torn by a crash, starts the next append on a line of its own, and keeps appends made during a compaction', async () => {
    const path = join(dir.path, 'torn.jsonl')
    await new FileWorkJournal(path).append({ kind: 'put', op: 'a', batch: 'a', at: 1 })
    // the daemon died in mid-append; the next one reads what is there
    await appendFile(path, '{"kind":"file","op":"a","fileId":"00')
    const file = new FileWorkJournal(path)
    assert.deepEqual((await file.read()).map((r) => r.kind), ['put'])
    await file.append({ kind: 'done', op: 'c' })
    assert.deepEqual((await new FileWorkJournal(path).read()).map((r) => r.op), ['a', 'c'], 'the record after the torn line is not lost in it')
    await Promise.all([file.compact((r) => r.op !== 'a'), file.append({ kind: 'done', op: 'b' })])
    assert.deepEqual(await file.read(), [{ kind: 'done', op: 'c' }, { kind: 'done', op: 'b' }])
    assert.deepEqual(await new FileWorkJournal(path).read(), [{ kind: 'done', op: 'c' }, { kind: 'done', op: 'b' }], 'what the file holds is what was read')
  })

  it('the journal file writes appends made at once together, in their order, and a failed write rejects its group only', async () => {
    const path = join(dir.path, 'grouped.jsonl')
    const file = new FileWorkJournal(path)
    const ops = Array.from({ length: 40 }, (_, i) => `op${i}`)
    await Promise.all(ops.map(async (op) => file.append({ kind: 'done', op })))
    assert.deepEqual((await file.read()).map((r) => r.op), ops)
    // a journal whose path is a directory cannot be written: every append waiting on that write fails
    const broken = new FileWorkJournal(dir.path)
    const results = await Promise.allSettled([broken.append({ kind: 'done', op: 'x' }), broken.append({ kind: 'done', op: 'y' })])
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected'])
    assert.ok(results.every((r) => r.status === 'rejected' && (r.reason as Error).name === 'DataDirError'))
    await file.append({ kind: 'done', op: 'after' })
    assert.equal((await file.read()).at(-1)?.op, 'after')
  })

  it('the queue status shows: puts under way, unfinished ones and their files, deletes owed by holder', async () => {
    const path = join(dir.path, 'queue.jsonl')
    const first = new OwnerJournal(new FileWorkJournal(path))
    const empty = await first.queue()
    assert.deepEqual(empty, { running: 0, unfinished: 0, unfinishedFiles: 0, deletes: 0, deleteHolders: 0, deleteRecords: 0 })
    assert.equal(workLine(empty), 'Work:       no unfinished put, no delete owed')
    const running = await first.startPut('aa'.repeat(16))
    await running.file('01'.repeat(16), true, ['p1', 'p2'])
    await running.file('02'.repeat(16), true, ['p1', 'p2'])
    const committed = await first.startPut('bb'.repeat(16))
    await committed.file('03'.repeat(16), true, ['p1'])
    await committed.done()
    await first.missedDelete('p3', '04'.repeat(16), undefined, ['c1', 'c2', 'c3'])
    await first.missedDelete('p3', '05'.repeat(16), undefined, ['c4'])
    await first.missedDelete('p4', '05'.repeat(16), undefined, ['c4'])
    assert.deepEqual(await first.queue(), { running: 1, unfinished: 0, unfinishedFiles: 0, deletes: 3, deleteHolders: 2, deleteRecords: 5 })
    // the daemon killed and started again: the put that was running is now unfinished work
    const again = new OwnerJournal(new FileWorkJournal(path))
    const queue = await again.queue()
    assert.deepEqual(queue, { running: 0, unfinished: 1, unfinishedFiles: 2, deletes: 3, deleteHolders: 2, deleteRecords: 5 })
    assert.equal(workLine(queue), 'Work:       1 unfinished put(s) of 2 file(s) to clean up, 5 record(s) to delete on 2 holder(s) once they answer')
  })
})
