// A share stores what its code opens before the catalogue records it: the manifests of
// batched files (batched-manifest.ts) and, at a tree's first share, the tree's listing.
// When the catalogue update then fails, those pieces must not wait for their leases: the
// share is journaled (work-in-flight.ts) and the background work deletes them. The fault
// is injected through the FederationClient port: stores under the catalogue's commitment
// are refused, so the catalogue generation cannot be stored.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { replaceStore } from '../src/app/replace-store.ts'
import { finishWorkInFlight } from '../src/app/owner/work-in-flight.ts'
import { catalogueDeleteSecret } from '../src/domain/crypto/key-derivation.ts'
import { commitmentToDecimal, poseidonCommitment } from '../src/domain/proofs/poseidon-commitment.ts'
import { RemoteInternalError } from '../src/domain/protocol/federation-errors.ts'
import type { FederationClient } from '../src/ports/federation-client.ts'
import { journaledOwner, type JournaledOwner } from './helpers/journaled-owner.ts'
import { MemoryCache, MemoryFederation } from './helpers/memory-federation.ts'
import { fakePeerId } from './helpers/owner-fixtures.ts'
import { tempDir } from './helpers/temp-dir.ts'

const quiet = (): void => {}

/** `inner`, refusing every store under `deleteCommitment` while `armed()`. */
function refusingStores (inner: FederationClient, deleteCommitment: string, armed: () => boolean): FederationClient {
  return {
    candidates: async (o) => inner.candidates(o),
    openSession: async (peer, proof, o) => inner.openSession(peer, proof, o),
    openStore: async (peer, o) => {
      const channel = await inner.openStore(peer, o)
      return replaceStore(channel, async (chunk, options) => {
        if (armed() && chunk.deleteCommitment === deleteCommitment) throw new RemoteInternalError(`${peer} refuses the store (fault injected)`)
        return channel.store(chunk, options)
      })
    }
  }
}

describe('a share whose catalogue update fails leaves nothing behind', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  const memory = new MemoryFederation()
  const master = randomBytes(32)
  let failing = false
  const federation = refusingStores(memory, commitmentToDecimal(poseidonCommitment(catalogueDeleteSecret(master))), () => failing)
  let d: JournaledOwner

  before(async () => {
    dir = await tempDir()
    for (let i = 0; i < 3; i++) memory.addPeer(fakePeerId())
    d = journaledOwner({ master, federation: federation as MemoryFederation, cache: new MemoryCache(), journalPath: join(dir.path, 'work-in-flight.jsonl') })
    const album = join(dir.path, 'album')
    await mkdir(join(album, 'trip'), { recursive: true })
    for (let i = 0; i < 12; i++) await writeFile(join(album, i % 2 === 0 ? 'trip' : '', `p${i}.jpg`), randomBytes(3000 + i))
    await d.owner.put([album], 2, quiet)
    await d.catalogue.settled()
  })
  after(async () => { await dir.cleanup() })

  it('the manifests and the listing a failed tree share stored are deleted by the background work; a share that commits keeps them', async () => {
    const before = memory.records()
    failing = true
    await assert.rejects(d.owner.share('album', { label: 'family' }), { name: 'CatalogueNotStoredError' })
    failing = false
    const stored = [...memory.records()].filter((r) => !before.has(r))
    // 12 manifests (one piece each, on two holders) and the listing on three peers
    assert.ok(stored.length >= 12 * 2 + 3, `the share stored ${stored.length} records before its catalogue update failed`)
    assert.equal((await d.journal.queue()).unfinished, 1, 'the failed share is in the queue')

    const report = await finishWorkInFlight(d.deps, d.catalogue, d.journal)
    assert.equal(report.pending, 0)
    const left = [...memory.records()].filter((r) => !before.has(r))
    assert.deepEqual(left, [], 'every piece the failed share stored is gone from the holders')
    assert.deepEqual(await d.journal.journal.read(), [])
    assert.deepEqual(await d.owner.shares(), [])

    // the same share once the catalogue takes it: recorded, its pieces kept by the background work
    const { code } = await d.owner.share('album', { label: 'family' })
    await d.catalogue.settled()
    const kept = memory.records()
    assert.equal((await finishWorkInFlight(d.deps, d.catalogue, d.journal)).deleted, 0)
    assert.deepEqual(memory.records(), kept)
    const friend = journaledOwner({ master: randomBytes(32), federation: memory, cache: new MemoryCache(), journalPath: join(dir.path, 'friend.jsonl') })
    const received = await friend.owner.receive(code, { cwd: dir.path, output: join(dir.path, 'gift') }, quiet)
    assert.equal(received.name, 'album')
  })

  it('a failed share of one batched file: its manifest is deleted, the file still reads back', async () => {
    const before = memory.records()
    const other = join(dir.path, 'single.txt')
    await writeFile(other, 'one small file')
    await d.owner.put([other], 2, quiet)
    await d.catalogue.settled()
    const afterPut = memory.records()
    failing = true
    await assert.rejects(d.owner.share('single.txt'), { name: 'CatalogueNotStoredError' })
    failing = false
    assert.ok([...memory.records()].some((r) => !afterPut.has(r)), 'the share stored a manifest')
    await finishWorkInFlight(d.deps, d.catalogue, d.journal)
    assert.deepEqual([...memory.records()].filter((r) => !afterPut.has(r)), [])
    await d.owner.get('single.txt', { cwd: dir.path, output: join(dir.path, 'single-back.txt') }, quiet)
    assert.ok(before.size < afterPut.size)
  })
})
