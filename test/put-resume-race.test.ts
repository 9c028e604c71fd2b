// Two re-runs of a cut put at once, and the background work racing a re-run's commit
// (OwnerJournal.claim, ResumeClaims): what one re-run adopted is never undone before it
// committed, and nothing a committed re-run adopted is deleted by a run of `finish` that
// loaded the catalogue just before that commit.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { afterEach, beforeEach, describe, it } from 'node:test'
import { finishWorkInFlight, resumableFiles } from '../src/app/owner/work-in-flight.ts'
import type { CatalogueService } from '../src/app/owner/catalogue-service.ts'
import type { CatalogueEntry } from '../src/domain/formats/catalogue-format.ts'
import { journaledOwner, type JournaledOwner } from './helpers/journaled-owner.ts'
import { MemoryCache, MemoryFederation } from './helpers/memory-federation.ts'
import { tempDir } from './helpers/temp-dir.ts'

const quiet = (): void => {}
const FILES = 60

/** A promise and its resolve: a test holds a step of the code under test until it resolves. */
function gate (): { opened: Promise<void>, open: () => void } {
  let open = (): void => {}
  const opened = new Promise<void>((resolve) => { open = resolve })
  return { opened, open }
}

/** Holds the catalogue update whose new entries `match` until `until` resolves; `reached` resolves when it is held. */
function holdUpdate (catalogue: CatalogueService, match: (names: string[]) => boolean, until: Promise<void>): Promise<void> {
  const reached = gate()
  const update = catalogue.update.bind(catalogue)
  catalogue.update = async (change, options) => {
    // the change is pure (put-command.ts): applied to nothing it names what the put adds
    if (match(change([]).map((e: CatalogueEntry) => e.name))) {
      reached.open()
      await until
    }
    return await update(change, options)
  }
  return reached.opened
}

async function filesUnder (root: string): Promise<string[]> {
  return (await readdir(root, { recursive: true, withFileTypes: true })).filter((d) => d.isFile()).map((d) => relative(root, join(d.parentPath, d.name))).sort()
}

async function assertSame (from: string, to: string): Promise<void> {
  const names = await filesUnder(from)
  assert.deepEqual(await filesUnder(to), names)
  for (const name of names) assert.ok((await readFile(join(to, name))).equals(await readFile(join(from, name))), name)
}

describe('re-runs of a cut put racing each other and the background work', { timeout: 120_000 }, () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  let federation: MemoryFederation
  let baseline: Set<string>
  let restarted: JournaledOwner
  const tree = (): string => join(dir.path, 'tree')

  beforeEach(async () => {
    dir = await tempDir()
    federation = new MemoryFederation()
    for (const peer of ['p1', 'p2', 'p3']) federation.addPeer(peer)
    await mkdir(join(tree(), 'sub'), { recursive: true })
    for (let i = 0; i < FILES; i++) await writeFile(join(tree(), i % 3 === 0 ? 'sub' : '', `f${i}.bin`), randomBytes(700 + i))
    const owner = { master: randomBytes(32), federation, cache: new MemoryCache(), journalPath: join(dir.path, 'work-in-flight.jsonl') }
    baseline = federation.records()
    // a put the daemon's death cut late, so both the top level and sub have files stored whole
    const first = journaledOwner(owner)
    const controller = new AbortController()
    let done = 0
    await assert.rejects(first.owner.put([tree()], 3, (p) => { if ((p.filesDone ?? 0) > done && ++done === 50) controller.abort() }, { signal: controller.signal }))
    restarted = journaledOwner(owner)
    assert.ok(resumableFiles(await restarted.journal.kept()).length >= 30, 'files stored whole before the cut')
  })
  afterEach(async () => { await dir.cleanup() })

  /** Both trees read back whole, and once they are removed nothing but catalogue pieces is left. */
  async function assertKeptThenFreed (names: Array<[string, string]>): Promise<void> {
    for (const [name, source] of names) {
      const out = join(dir.path, `out-${name}`)
      await restarted.owner.get(name, { cwd: dir.path, output: out }, quiet)
      await assertSame(source, out)
    }
    for (const [name] of names) await restarted.owner.remove(name)
    await restarted.catalogue.settled()
    assert.equal((await finishWorkInFlight(restarted.deps, restarted.catalogue, restarted.journal)).pending, 0)
    const left = [...federation.records()].filter((r) => !baseline.has(r))
    assert.ok(left.length <= 3, `only the catalogue's pieces are left: ${left.length}`)
  }

  it('a re-run that committed first does not get what another re-run adopted undone before that one commits', async () => {
    const holdSub = gate()
    const holdTree = gate()
    const subHeld = holdUpdate(restarted.catalogue, (n) => n.some((x) => x === 'sub' || x.startsWith('sub/')), holdSub.opened)
    const treeHeld = holdUpdate(restarted.catalogue, (n) => n.some((x) => x === 'tree' || x.startsWith('tree/')), holdTree.opened)
    // sub first, so it adopts sub's files; then the whole tree adopts the rest
    const sub = restarted.owner.put([join(tree(), 'sub')], 3, quiet)
    await subHeld
    const whole = restarted.owner.put([tree()], 3, quiet)
    await treeHeld

    holdSub.open()
    const [subOutcome] = await sub
    assert.ok(subOutcome!.resumed > 0, 'the sub re-run adopted files of the cut put')
    // the background work runs now (the commit asks for it): the tree re-run is still under way
    const during = await finishWorkInFlight(restarted.deps, restarted.catalogue, restarted.journal)
    assert.ok(during.pending > 0, 'the cut put waits for the re-run that holds part of it')

    holdTree.open()
    const [treeOutcome] = await whole
    assert.ok(treeOutcome!.resumed > 0, 'the tree re-run adopted other files of the cut put')
    await finishWorkInFlight(restarted.deps, restarted.catalogue, restarted.journal)
    await assertKeptThenFreed([['tree', tree()], ['sub', join(tree(), 'sub')]])
  })

  it('a run of the background work that loaded the catalogue before a re-run committed deletes nothing the re-run adopted', async () => {
    const held = gate()
    const loaded = gate()
    const load = restarted.catalogue.load.bind(restarted.catalogue)
    let once = true
    restarted.catalogue.load = async (options) => {
      const catalogue = await load(options)
      if (once) {
        once = false
        loaded.open()
        await held.opened
      }
      return catalogue
    }
    // the background work loads the catalogue (no entry yet) and is held there
    const finishing = finishWorkInFlight(restarted.deps, restarted.catalogue, restarted.journal)
    await loaded.opened
    const [outcome] = await restarted.owner.put([tree()], 3, quiet)
    assert.ok(outcome!.resumed > 0, 'the re-run adopted files of the cut put')
    held.open()
    await finishing
    await finishWorkInFlight(restarted.deps, restarted.catalogue, restarted.journal)
    await assertKeptThenFreed([['tree', tree()]])
  })
})

describe('a re-run that failed, racing another re-run of the same cut put', { timeout: 120_000 }, () => {
  const MiB = 1024 * 1024
  let dir: Awaited<ReturnType<typeof tempDir>>
  let owner: Parameters<typeof journaledOwner>[0]

  beforeEach(async () => {
    dir = await tempDir()
    const federation = new MemoryFederation()
    for (const peer of ['p1', 'p2', 'p3']) federation.addPeer(peer)
    owner = { master: randomBytes(32), federation, cache: new MemoryCache(), journalPath: join(dir.path, 'work-in-flight.jsonl') }
  })
  afterEach(async () => { await dir.cleanup() })

  /**
   * Both re-runs read the journal before the first one journals anything (start the
   * second once `firstRead` resolved); the second goes on once the first failed.
   */
  function readTogether (journal: JournaledOwner['journal']): { firstRead: Promise<void>, firstFailed: () => void } {
    const firstRead = gate()
    const secondRead = gate()
    const firstFailed = gate()
    const kept = journal.kept.bind(journal)
    let reads = 0
    journal.kept = async (options) => {
      const read = ++reads
      const records = await kept(options)
      if (read === 1) {
        firstRead.open()
        await secondRead.opened
      } else {
        secondRead.open()
        await firstFailed.opened
      }
      return records
    }
    return { firstRead: firstRead.opened, firstFailed: firstFailed.open }
  }

  it('a file the failed one took over is not adopted again, so its undo takes nothing the other commits', async () => {
    const path = join(dir.path, 'big.bin')
    await writeFile(path, randomBytes(18 * MiB + 123))
    const cut = new AbortController()
    await assert.rejects(journaledOwner(owner).owner.put([path], 2, (p) => { if (p.done >= 6 * MiB) cut.abort() }, { signal: cut.signal }))

    const restarted = journaledOwner(owner)
    const { firstRead, firstFailed } = readTogether(restarted.journal)
    const commit = gate()
    const committing = holdUpdate(restarted.catalogue, (n) => n.includes('big.bin'), commit.opened)
    const stop = new AbortController()
    const failing = restarted.owner.put([path], 2, (p) => { if (p.done >= 10 * MiB) stop.abort() }, { signal: stop.signal })
    await firstRead
    const other = restarted.owner.put([path], 2, quiet)
    await assert.rejects(failing)
    firstFailed()
    // the failure asked for the background work: it runs while the other re-run is under way
    await committing
    await finishWorkInFlight(restarted.deps, restarted.catalogue, restarted.journal)
    commit.open()
    await other
    await restarted.owner.get('big.bin', { cwd: dir.path, output: join(dir.path, 'back.bin') }, quiet)
    assert.ok((await readFile(join(dir.path, 'back.bin'))).equals(await readFile(path)))
  })

  it('a file a failed re-run kept in the catalogue is not adopted again by another: no two entries share it', async () => {
    const tree = join(dir.path, 'tree')
    await mkdir(tree, { recursive: true })
    for (let i = 0; i < 30; i++) await writeFile(join(tree, `f${i}.bin`), randomBytes(700 + i))
    const cut = new AbortController()
    let done = 0
    await assert.rejects(journaledOwner(owner).owner.put([tree], 3, (p) => { if ((p.filesDone ?? 0) > done && ++done === 25) cut.abort() }, { signal: cut.signal }))

    const restarted = journaledOwner(owner)
    const [whole] = resumableFiles(await restarted.journal.kept())
    assert.ok(whole !== undefined, 'a file stored whole before the cut')
    const name = `f${whole.size - 700}.bin`
    const big = join(dir.path, 'big.bin')
    await writeFile(big, randomBytes(3 * MiB))
    const { firstRead, firstFailed } = readTogether(restarted.journal)
    // the first re-run adopts the file, then fails on the big one: what it stored enters the catalogue
    const stop = new AbortController()
    const failing = restarted.owner.put([join(tree, name), big], 3, (p) => { if (p.name === 'big.bin' && p.done > MiB) stop.abort() }, { signal: stop.signal })
    await firstRead
    const other = restarted.owner.put([join(tree, name)], 3, quiet)
    await assert.rejects(failing)
    assert.ok((await restarted.catalogue.load()).entries.some((e) => e.name === name), 'the adopted file was kept')
    firstFailed()
    const [outcome] = await other
    assert.equal(outcome!.resumed, 0, 'not adopted a second time')
    assert.equal((await restarted.catalogue.load()).entries.filter((e) => e.fileId === whole.fileId).length, 1)
    // the old version goes, the new one stays whole
    await restarted.owner.remove(name, { version: 1 })
    await restarted.catalogue.settled()
    await restarted.owner.get(name, { cwd: dir.path, output: join(dir.path, 'back.bin') }, quiet)
    assert.ok((await readFile(join(dir.path, 'back.bin'))).equals(await readFile(join(tree, name))))
  })
})
