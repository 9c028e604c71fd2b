import assert from 'node:assert/strict'
import { randomBytes, randomInt } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { silentLoggerFactory } from '../src/adapters/logging/stderr-logger.ts'
import { CatalogueService } from '../src/app/owner/catalogue-service.ts'
import { OwnerService } from '../src/app/owner/owner-service.ts'
import { MemoryCache, MemoryFederation, type FederationCounts } from './helpers/memory-federation.ts'
import { tempDir } from './helpers/temp-dir.ts'

const FILES = 200
const REPLICAS = 2
const PEERS = ['p1', 'p2', 'p3']

function report (what: string, counts: FederationCounts): void {
  console.log(`${what}: proofs ${counts.proofs}, store streams ${counts.stores}, dials ${counts.dials}, lists ${counts.lists}, gets ${counts.gets}`)
}

/** Distinct commitments each session key was proven for, per action. */
function commitmentsOf (counts: FederationCounts, action: string): Map<string, string[]> {
  const peers = new Map<string, string[]>()
  for (const key of counts.sessionOpens.keys()) {
    const [peer, act, commitment] = key.split(' ') as [string, string, string]
    if (act === action) peers.set(commitment, [...(peers.get(commitment) ?? []), peer])
  }
  return peers
}

// A bound test, not a timed one: what a put and a get of a tree of small files cost in
// dials and proofs over an in-memory federation of three storage nodes.
describe('dials and proofs of a tree of 200 small files', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  const federation = new MemoryFederation()
  let owner: OwnerService
  const contents = new Map<string, Buffer>()

  before(async () => {
    dir = await tempDir()
    for (const peer of PEERS) federation.addPeer(peer)
    const log = silentLoggerFactory('test')
    const deps = { master: randomBytes(32), federation, log }
    owner = new OwnerService(deps, new CatalogueService({ ...deps, cache: new MemoryCache(), replicas: PEERS.length }))
    for (let i = 0; i < FILES; i++) {
      const name = join(`d${i % 10}`, `f${i}.bin`)
      contents.set(name, randomBytes(randomInt(1024, 4097)))
    }
    for (const [name, bytes] of contents) {
      await mkdir(join(dir.path, 'tree', name, '..'), { recursive: true })
      await writeFile(join(dir.path, 'tree', name), bytes)
    }
    // a catalogue generation exists already, so the put pays for deleting it as a real one does
    await writeFile(join(dir.path, 'first.txt'), 'first')
    await owner.put([join(dir.path, 'first.txt')], REPLICAS, () => {})
  })
  after(async () => { await dir.cleanup() })

  it('put opens at most one store stream per holder and proves only to delete the old catalogue', async () => {
    federation.counts.reset()
    const [outcome] = await owner.put([join(dir.path, 'tree')], REPLICAS, () => {})
    report('put', federation.counts)
    assert.equal(outcome!.files, FILES)
    assert.equal(outcome!.underReplicated, false)
    for (const [peer, opens] of federation.counts.storeOpens) assert.ok(opens <= 1, `${peer}: ${opens} store streams`)
    assert.ok(federation.counts.stores <= PEERS.length)
    assert.deepEqual([...commitmentsOf(federation.counts, 'read').keys()], [], 'a put reads nothing back')
    for (const [, peers] of commitmentsOf(federation.counts, 'delete')) assert.equal(new Set(peers).size, peers.length, 'one proof per holder')
    assert.ok(federation.counts.proofs <= PEERS.length, `${federation.counts.proofs} proofs`)
    assert.equal(federation.counts.lists, 0)
  })

  it('get proves once per holder for the whole batch, reads no manifest and lists nothing', async () => {
    federation.counts.reset()
    const { written } = await owner.get('tree', { output: join(dir.path, 'back'), cwd: dir.path }, () => {})
    report('get', federation.counts)
    assert.equal(written.length, FILES)
    for (const [name, bytes] of contents) assert.ok((await readFile(join(dir.path, 'back', name))).equals(bytes), name)
    const reads = commitmentsOf(federation.counts, 'read')
    // the files of one put are one batch (batches.ts): its read commitment, and no manifest's
    assert.equal(reads.size, 1, 'the batch\'s data commitment only')
    for (const [commitment, peers] of reads) assert.equal(new Set(peers).size, peers.length, `${commitment} proven to ${peers.join(', ')}`)
    assert.ok(federation.counts.proofs <= PEERS.length, `${federation.counts.proofs} proofs`)
    assert.equal(federation.counts.stores, 0)
    assert.equal(federation.counts.lists, 0)
  })

  it('get with a holder gone dials it once for the whole command, not once per file', async () => {
    federation.counts.reset()
    federation.reachable.delete('p1')
    try {
      const { written } = await owner.get('tree', { output: join(dir.path, 'failover'), cwd: dir.path }, () => {})
      assert.equal(written.length, FILES)
    } finally {
      federation.reachable.add('p1')
    }
    report('get, p1 gone', federation.counts)
    const dialsToGone = [...federation.counts.sessionOpens].filter(([key]) => key.startsWith('p1 ')).reduce((n, [, count]) => n + count, 0)
    // files are fetched 4 at a time, so the first few may all try p1 before its failure is known
    assert.ok(dialsToGone <= 4 * 2, `${dialsToGone} dials to the holder that is gone`)
    assert.ok(federation.counts.proofs <= PEERS.length, `${federation.counts.proofs} proofs`)
  })

  it('rm reads no manifest, proves the batch\'s delete commitment once per holder, and lists nothing', async () => {
    federation.counts.reset()
    const reports = await owner.remove('tree')
    report('rm', federation.counts)
    assert.equal(reports.length, FILES)
    assert.ok(reports.every((r) => r.unreachable.length === 0))
    const reads = commitmentsOf(federation.counts, 'read')
    assert.equal(reads.size, 0, 'the catalogue names every chunk of a batched file')
    const deletes = commitmentsOf(federation.counts, 'delete')
    for (const [, peers] of deletes) assert.equal(new Set(peers).size, peers.length, 'one proof per holder')
    // the batch's delete commitment and the old catalogue's, each once per holder
    assert.ok(deletes.size <= 2, `${deletes.size} delete commitments`)
    assert.ok(federation.counts.proofs <= 2 * PEERS.length, `${federation.counts.proofs} proofs`)
    assert.equal(federation.counts.lists, 0)
  })
})
