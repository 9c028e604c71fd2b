// Resuming files outside a batch (put-resume.ts CutFile): a file over 16 MiB or an
// erasure-coded one that a put cut mid-way had begun sending is resumed by a re-run after
// the daemon's death: the file keeps its id, the chunks or stripes its holders
// acknowledged (and whose plaintext hashes as journaled) are adopted, only the rest is
// sent; a chunk changed under the same size and time is sent again and its old copy
// deleted; nothing is left behind after rm.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { open, readFile, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { ReedSolomonCodec } from '../src/adapters/erasure/reed-solomon-codec.ts'
import { FileWorkJournal } from '../src/adapters/data-dir/file-work-journal.ts'
import { finishWorkInFlight, OwnerJournal } from '../src/app/owner/work-in-flight.ts'
import type { SchemeChoice } from '../src/domain/formats/stripe-layout.ts'
import { journaledOwner, type JournaledOwner } from './helpers/journaled-owner.ts'
import { MemoryCache, MemoryFederation } from './helpers/memory-federation.ts'
import { fakePeerId } from './helpers/owner-fixtures.ts'
import { tempDir } from './helpers/temp-dir.ts'

const MiB = 1024 * 1024
const quiet = (): void => {}
const MTIME = 1_700_000_000
const codec = new ReedSolomonCodec()

/** Every (peer, chunk id) record the storage nodes hold, with its size. */
function records (federation: MemoryFederation): Map<string, number> {
  const held = new Map<string, number>()
  for (const [peer, node] of federation.nodes) for (const chunks of node.values()) for (const [id, bytes] of chunks) held.set(`${peer} ${id}`, bytes.byteLength)
  return held
}

function addedBytes (before: Map<string, number>, now: Map<string, number>): number {
  let sum = 0
  for (const [r, n] of now) if (!before.has(r)) sum += n
  return sum
}

describe('resume of files outside a batch after the daemon died mid-put', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  const federation = new MemoryFederation()
  const master = randomBytes(32)
  const cache = new MemoryCache()
  const journalPath = (): string => join(dir.path, 'work-in-flight.jsonl')
  /** An owner daemon: a second one over the same journal file is a restarted process. */
  const daemon = (): JournaledOwner => journaledOwner({ master, federation, cache, journalPath: journalPath(), codec })

  /** Puts `path`, cut (as by a death: the journal object is dropped) once `cutAt` bytes are acknowledged. */
  const cutPut = async (path: string, scheme: number | SchemeChoice, cutAt: number): Promise<void> => {
    const first = daemon()
    const controller = new AbortController()
    await assert.rejects(first.owner.put([path], scheme, (p) => { if (p.done >= cutAt) controller.abort() }, { signal: controller.signal }))
  }

  /** After rm and the background work, the holders hold what they held at `baseline` but the catalogue's new pieces. */
  const removedLeavesNothing = async (d: ReturnType<typeof daemon>, name: string, baseline: Map<string, number>): Promise<void> => {
    await d.owner.remove(name)
    await d.catalogue.settled()
    const report = await finishWorkInFlight(d.deps, d.catalogue, d.journal)
    assert.equal(report.pending, 0)
    const left = [...records(federation)].filter(([r]) => !baseline.has(r))
    assert.ok(left.length <= 3, `only the catalogue's new pieces are new: ${left.length} records`)
    assert.ok(left.every(([, bytes]) => bytes < 64 * 1024), `no chunk is left: ${left.map(([, b]) => b).join(', ')} bytes`)
    assert.deepEqual(await d.journal.journal.read(), [])
  }

  before(async () => {
    dir = await tempDir()
    for (let i = 0; i < 3; i++) federation.addPeer(fakePeerId())
  })
  after(async () => { await dir.cleanup() })

  it('a 24 MiB file with 2 copies: the re-run adopts the acknowledged chunks, sends again a changed one, and nothing stays after rm', async () => {
    const path = join(dir.path, 'big.bin')
    await writeFile(path, randomBytes(24 * MiB + 12345))
    // whole seconds: a time set back after the change below is the same to the millisecond
    await utimes(path, MTIME, MTIME)
    const baseline = records(federation)
    await cutPut(path, 2, 9 * MiB)

    // the background work during the grace keeps what the cut put sent
    const second = daemon()
    assert.ok((await finishWorkInFlight(second.deps, second.catalogue, second.journal)).pending > 0)
    const cutBytes = addedBytes(baseline, records(federation))
    assert.ok(cutBytes >= 2 * 9 * MiB, `the cut put left ${cutBytes} bytes for now`)

    // a death between a chunk's acknowledgement and its journal record: the last one is lost
    const lines = (await readFile(journalPath(), 'utf8')).split('\n')
    const last = lines.findLastIndex((l) => l.includes('"kind":"sent"'))
    await writeFile(journalPath(), lines.filter((_, i) => i !== last).join('\n'))

    // attack: a holder drops an acknowledged chunk before the re-run; it must not be named on that holder again
    const firstSent = (await second.journal.journal.read()).find((r) => r.kind === 'sent')!
    const dropper = firstSent.kind === 'sent' ? firstSent.pieces[0]!.holders[0]! : ''
    const dropped = firstSent.kind === 'sent' ? firstSent.pieces[0]!.id : ''
    for (const chunks of federation.nodes.get(dropper)!.values()) chunks.delete(dropped)

    // chunk 2 changes under the same size and time: it cannot be adopted
    const handle = await open(path, 'r+')
    await handle.write(randomBytes(16), 0, 16, 2 * MiB + 100)
    await handle.close()
    await utimes(path, MTIME, MTIME)

    const before = records(federation)
    const [outcome] = await second.owner.put([path], 2, quiet)
    assert.equal(outcome!.resumed, 1)
    const sent = addedBytes(before, records(federation))
    // the 9 MiB acknowledged before the cut are adopted but chunk 2: two copies of the rest, the manifest and the catalogue
    const bound = 2 * (24 * MiB + 12345 - 8 * MiB) + 512 * 1024
    assert.ok(sent <= bound, `the re-run stored ${sent} bytes, more than the ${bound} of what it did not adopt`)

    await second.owner.get('big.bin', { cwd: dir.path, output: join(dir.path, 'big-back.bin') }, quiet)
    assert.ok((await readFile(join(dir.path, 'big-back.bin'))).equals(await readFile(path)), 'byte-identical, with the changed chunk')

    // each holder alone serves the whole file: the dropped chunk was sent again, not adopted
    const all = [...federation.reachable]
    for (const holder of outcome!.holders) {
      federation.reachable.clear()
      federation.reachable.add(holder)
      try {
        await second.owner.get('big.bin', { cwd: dir.path, output: join(dir.path, `big-from-${holder.slice(-6)}.bin`) }, quiet)
      } finally {
        for (const p of all) federation.reachable.add(p)
      }
      assert.ok((await readFile(join(dir.path, `big-from-${holder.slice(-6)}.bin`))).equals(await readFile(path)), `${holder} alone`)
    }
    assert.ok(outcome!.holders.includes(dropper))

    // the old copy of chunk 2 is deleted by the background work
    assert.equal((await finishWorkInFlight(second.deps, second.catalogue, second.journal)).pending, 0)
    await removedLeavesNothing(second, 'big.bin', baseline)
  })

  it('a 2+1 file: the re-run adopts the acknowledged stripes on the same slots; nothing stays after rm', async () => {
    const path = join(dir.path, 'coded.bin')
    await writeFile(path, randomBytes(20 * MiB + 777))
    const scheme: SchemeChoice = { kind: 'erasure', scheme: { data: 2, parity: 1 } }
    const baseline = records(federation)
    await cutPut(path, scheme, 8 * MiB)
    const cutBytes = addedBytes(baseline, records(federation))
    assert.ok(cutBytes >= 1.5 * 8 * MiB, `the cut put left ${cutBytes} bytes for now`)

    const second = daemon()
    const before = records(federation)
    const [outcome] = await second.owner.put([path], scheme, quiet)
    assert.equal(outcome!.resumed, 1)
    const sent = addedBytes(before, records(federation))
    // the 8 MiB acknowledged before the cut (12 MiB of shards) are adopted
    assert.ok(sent <= 1.5 * (20 * MiB + 777 - 8 * MiB) + 512 * 1024, `the re-run stored ${sent} bytes; the cut put had ${cutBytes}`)

    await second.owner.get('coded.bin', { cwd: dir.path, output: join(dir.path, 'coded-back.bin') }, quiet)
    assert.ok((await readFile(join(dir.path, 'coded-back.bin'))).equals(await readFile(path)))
    await removedLeavesNothing(second, 'coded.bin', baseline)
  })

  it('a re-run in another scheme adopts nothing; the cut put waits for the grace (resumeGrace), then is undone', async () => {
    const path = join(dir.path, 'other.bin')
    await writeFile(path, randomBytes(18 * MiB))
    const baseline = records(federation)
    await cutPut(path, 2, 6 * MiB)
    const cut = new Set([...records(federation).keys()].filter((r) => !baseline.has(r)))
    const second = daemon()
    const [outcome] = await second.owner.put([path], 3, quiet)
    assert.equal(outcome!.resumed, 0)
    assert.ok((await finishWorkInFlight(second.deps, second.catalogue, second.journal)).pending > 0, 'kept for another re-run')
    assert.ok([...cut].every((r) => records(federation).has(r)))
    // the daemon restarted once its grace is over undoes it (a journal file has one
    // daemon at a time: each keeps what it read of it)
    const graceless = new OwnerJournal(new FileWorkJournal(journalPath()), { resumeGraceMs: 0 })
    const report = await finishWorkInFlight({ ...second.deps, journal: graceless }, second.catalogue, graceless)
    assert.equal(report.pending, 0)
    assert.ok([...cut].every((r) => !records(federation).has(r)), 'what the cut put sent is deleted')
    await removedLeavesNothing(daemon(), 'other.bin', baseline)
  })
})
