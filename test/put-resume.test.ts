// Resuming a put the owner daemon's death cut (put-resume.ts): a re-run adopts the files
// the journal says were stored whole and sends only the rest; a file whose content
// differs under the same size and time is sent again; a put cancelled in a running
// daemon keeps nothing for a resume.
import assert from 'node:assert/strict'
import { createHmac, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { mkdir, readFile, stat, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { contentHashKey } from '../src/domain/formats/content-hash.ts'
import { finishWorkInFlight, resumableFiles } from '../src/app/owner/work-in-flight.ts'
import { journaledOwner, type JournaledOwner } from './helpers/journaled-owner.ts'
import { MemoryCache, MemoryFederation } from './helpers/memory-federation.ts'
import { tempDir } from './helpers/temp-dir.ts'

const quiet = (): void => {}
const FILES = 60

describe('put resume after the daemon died mid-put', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  const federation = new MemoryFederation()
  const master = randomBytes(32)
  const cache = new MemoryCache()
  const journalPath = (): string => join(dir.path, 'work-in-flight.jsonl')
  /** An owner daemon: a second one over the same journal file is a restarted process. */
  const daemon = (): JournaledOwner => journaledOwner({ master, federation, cache, journalPath: journalPath() })
  const tree = (): string => join(dir.path, 'tree')

  before(async () => {
    dir = await tempDir()
    for (const peer of ['p1', 'p2', 'p3']) federation.addPeer(peer)
    await mkdir(join(tree(), 'sub'), { recursive: true })
    for (let i = 0; i < FILES; i++) await writeFile(join(tree(), i % 3 === 0 ? 'sub' : '', `f${i}.bin`), randomBytes(700 + i))
  })
  after(async () => { await dir.cleanup() })

  it('a cancelled put keeps nothing for a resume; after a death, the re-run adopts what was stored whole and sends only the rest', async () => {
    const first = daemon()
    const baseline = federation.records()
    const controller = new AbortController()
    let done = 0
    await assert.rejects(first.owner.put([tree()], 3, (p) => { if ((p.filesDone ?? 0) > done && ++done === 25) controller.abort() }, { signal: controller.signal }))
    // cancelled in this process: undone at once, nothing offered for a resume
    assert.deepEqual(resumableFiles(await first.journal.kept()), [])

    // the same journal read by a restarted daemon: the put was cut by a death
    const second = daemon()
    const stored = resumableFiles(await second.journal.kept())
    assert.ok(stored.length >= 10, `${stored.length} files stored whole before the cut`)
    // the background work during the grace leaves the stored files for the re-run
    const report = await finishWorkInFlight(second.deps, second.catalogue, second.journal)
    assert.ok(report.pending > 0, 'the cut put stays open until a re-run or the grace')
    // what the holders keep of each: its pack (a small file is packed), or its chunks
    const storedIds = new Set(stored.flatMap((f) => f.chunks.flatMap(([id, holders]) => holders.map((h) => `${h} ${f.pack?.[0] ?? id}`))))
    const kept = federation.records()
    for (const r of storedIds) assert.ok(kept.has(r), `${r} kept for the re-run`)

    // one stored file changes under the same size and time: it must be sent again, not adopted
    const changed = join(tree(), 'sub', 'f0.bin')
    const info = await stat(changed)
    const wasStored = stored.some((f) => f.contentHash === createHmac('sha256', contentHashKey(master)).update(readFileSync(changed)).digest('hex'))
    await writeFile(changed, randomBytes(info.size))
    await utimes(changed, info.atime, info.mtime)

    const before = federation.records()
    const [outcome] = await second.owner.put([tree()], 3, quiet)
    assert.equal(outcome!.files, FILES)
    assert.equal(outcome!.resumed, stored.length - (wasStored ? 1 : 0), 'every file stored whole is adopted, but the changed one')
    // what the re-run stored: the other files' chunks (3 copies each) and a catalogue generation
    const added = [...federation.records()].filter((r) => !before.has(r))
    assert.ok(added.length <= (FILES - outcome!.resumed) * 3 + 3, `${added.length} records added for ${FILES - outcome!.resumed} files sent`)

    // the tree reads back whole, the changed file with its new content
    await second.owner.get('tree', { cwd: dir.path, output: join(dir.path, 'out') }, quiet)
    for (const e of (await second.owner.list()).filter((x) => x.kind === 'file')) {
      assert.ok((await readFile(join(dir.path, 'out', e.name.slice('tree/'.length)))).equals(await readFile(join(dir.path, e.name))), e.name)
    }
    // the cut put is finished by the re-run's commit: an rm right after, before any
    // background work, leaves it nothing to wait for, and nothing of either put stays
    await second.owner.remove('tree')
    await second.catalogue.settled()
    const after = await finishWorkInFlight(second.deps, second.catalogue, second.journal)
    assert.equal(after.pending, 0)
    const left = [...federation.records()].filter((r) => !baseline.has(r))
    assert.ok(left.length <= 3, `only the catalogue's new pieces are new: ${left.length}`)
    assert.deepEqual(await second.journal.journal.read(), [])
  })
})
