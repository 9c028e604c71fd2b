import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { silentLoggerFactory } from '../src/adapters/logging/stderr-logger.ts'
import { CatalogueService } from '../src/app/owner/catalogue-service.ts'
import type { CatalogueEntry } from '../src/domain/formats/catalogue.ts'
import { commitmentToDecimal, poseidonCommitment } from '../src/domain/proofs/poseidon-commitment.ts'
import { catalogueSecret } from '../src/domain/crypto/key-derivation.ts'
import type { ProvenSession } from '../src/ports/federation-client.ts'
import { MemoryCache, MemoryFederation } from './helpers/memory-federation.ts'
import { waitFor } from './helpers/wait-for.ts'
import { QuotaExceededError } from '../src/domain/protocol/federation-errors.ts'

/** A federation whose delete sessions wait for `gate`: an old holder that stalls. */
class StallingDeletes extends MemoryFederation {
  gate: Promise<void> | undefined
  deletesAsked = 0
  override async openSession (peerId: string, proof: { action: 'read' | 'delete', secret: bigint }): Promise<ProvenSession> {
    if (proof.action === 'delete') {
      this.deletesAsked++
      await this.gate
    }
    return super.openSession(peerId, proof)
  }
}

/** Peers in `refusing` refuse every store, as a full or hostile node does; reads and deletes still work. */
class RefusingStores extends MemoryFederation {
  readonly refusing = new Set<string>()
  override async openStore (peerId: string, options?: Parameters<MemoryFederation['openStore']>[1]): ReturnType<MemoryFederation['openStore']> {
    const channel = await super.openStore(peerId, options)
    if (!this.refusing.has(peerId)) return channel
    return { ...channel, store: async () => { throw new QuotaExceededError(`${peerId} takes nothing more`) } }
  }
}

function entry (name: string): CatalogueEntry {
  return { fileId: randomBytes(16).toString('hex'), name, kind: 'file', size: 1, mode: 0o644, mtimeMs: 0, manifest: [{ id: 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku', holders: ['12D3KooWHfXnrWZpCft37fJkxW6sumsgjt5VZnuSSrBZ1zn6eZaR'] }] }
}

describe('CatalogueService', () => {
  const master = randomBytes(32)
  const log = silentLoggerFactory('test')
  const serviceOn = (federation: MemoryFederation, init?: Partial<ConstructorParameters<typeof CatalogueService>[0]>): CatalogueService =>
    new CatalogueService({ master, federation, cache: new MemoryCache(), replicas: 2, log, ...init })

  it('with staleInBackground, an update resolves while the old holder stalls its delete, which completes behind it', async () => {
    const federation = new StallingDeletes()
    for (const peer of ['p1', 'p2', 'p3']) federation.addPeer(peer)
    const service = serviceOn(federation)
    await service.update((entries) => [...entries, entry('a.txt')])
    let open!: () => void
    federation.gate = new Promise((resolve) => { open = resolve })
    const next = await service.update((entries) => [...entries, entry('b.txt')], { staleInBackground: true })
    assert.equal(next.generation, 2, 'resolved with the delete still waiting')
    assert.ok(federation.deletesAsked > 0, 'the stale generation\'s delete was asked for')
    const commitment = commitmentToDecimal(poseidonCommitment(catalogueSecret(master)))
    const pieces = (): number => [...federation.nodes.values()].reduce((n, node) => n + (node.get(commitment)?.size ?? 0), 0)
    assert.equal(pieces(), 4, 'both generations are held while the delete stalls')
    open()
    await service.settled()
    assert.equal(pieces(), 2, 'the old generation is gone once the background delete settles')
  })

  it('stores each generation on the peers, deletes the previous one, and a new node recovers the newest', async () => {
    const federation = new MemoryFederation()
    for (const peer of ['p1', 'p2', 'p3']) federation.addPeer(peer)
    const service = serviceOn(federation)
    await service.update((entries) => [...entries, entry('a.txt')])
    await service.update((entries) => [...entries, entry('b.txt')])
    const commitment = commitmentToDecimal(poseidonCommitment(catalogueSecret(master)))
    let pieces = 0
    for (const node of federation.nodes.values()) pieces += node.get(commitment)?.size ?? 0
    assert.equal(pieces, 2, 'one generation, one piece on each of 2 peers; the old one is gone')

    const recovered = serviceOn(federation)
    const catalogue = await recovered.load()
    assert.equal(catalogue.generation, 2)
    assert.deepEqual(catalogue.entries.map((e) => e.name), ['a.txt', 'b.txt'])
  })

  it('an update after a fetch that opened nothing keeps the pieces it could not open', async () => {
    // attack on the file list: pieces under the catalogue commitment that open into no
    // generation (a generation missing a piece, a damaged one) must survive the next put
    const federation = new MemoryFederation()
    federation.addPeer('holder')
    const commitment = commitmentToDecimal(poseidonCommitment(catalogueSecret(master)))
    const stranded = new Map([['bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku', randomBytes(64)]])
    federation.nodes.get('holder')!.set(commitment, stranded)
    const service = serviceOn(federation, { replicas: 1 })
    assert.deepEqual((await service.load()).entries, [])
    await service.update((entries) => [...entries, entry('new.txt')])
    const held = federation.nodes.get('holder')!.get(commitment)!
    assert.ok(held.has('bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku'), 'the piece that did not open is still there')
    assert.equal(held.size, 2, 'beside the new generation')
  })

  it('asks the federation again when it found nothing (peers not discovered yet)', async () => {
    const federation = new MemoryFederation()
    federation.addPeer('holder')
    await serviceOn(federation, { replicas: 1 }).update((e) => [...e, entry('kept.txt')])
    federation.reachable.delete('holder')
    federation.addPeer('stranger')
    const recovered = serviceOn(federation, { replicas: 1 })
    assert.deepEqual((await recovered.load()).entries, [])
    federation.reachable.add('holder')
    assert.deepEqual((await recovered.load()).entries.map((e) => e.name), ['kept.txt'])
  })

  it('without any peer: CatalogueUnavailableError', async () => {
    const federation = new MemoryFederation()
    const service = new CatalogueService({ master: randomBytes(32), federation, cache: new MemoryCache(), replicas: 1, log })
    await assert.rejects(service.load(), { name: 'CatalogueUnavailableError' })
  })

  it('ls does not wait while a stalling holder delays the deletion of the previous generation', async () => {
    const federation = new StallingDeletes()
    for (const peer of ['p1', 'p2']) federation.addPeer(peer)
    const service = new CatalogueService({ master: randomBytes(32), federation, cache: new MemoryCache(), replicas: 2, log })
    await service.update((entries) => [...entries, entry('a.txt')])
    let release = (): void => {}
    federation.gate = new Promise((resolve) => { release = resolve })
    let settled = false
    const updating = service.update((entries) => [...entries, entry('b.txt')]).finally(() => { settled = true })
    await waitFor(() => federation.deletesAsked > 0, { what: 'the stale generation being deleted', timeoutMs: 5000, intervalMs: 5 })
    const listed = await service.load()
    assert.deepEqual(listed.entries.map((e) => e.name), ['a.txt', 'b.txt'])
    assert.equal(settled, false, 'the deletion is still stalled')
    release()
    assert.equal((await updating).generation, 2)
  })

  describe('deltas', () => {
    const commitment = commitmentToDecimal(poseidonCommitment(catalogueSecret(master)))
    const held = (federation: MemoryFederation, peer: string): Map<string, Uint8Array> => federation.nodes.get(peer)!.get(commitment) ?? new Map()
    const many = (n: number): CatalogueEntry[] => Array.from({ length: n }, (_, i) => entry(`f${i}.txt`))

    it('a small change is one delta on every holder of the chain, nothing deleted; after maxDeltas a new base replaces the chain', async () => {
      const federation = new MemoryFederation()
      for (const peer of ['p1', 'p2', 'p3']) federation.addPeer(peer)
      const service = serviceOn(federation, { maxDeltas: 3 })
      await service.update(() => many(100))
      const holders = ['p1', 'p2', 'p3'].filter((p) => held(federation, p).size > 0)
      assert.equal(holders.length, 2)
      for (let i = 1; i <= 3; i++) {
        await service.update((entries) => [...entries, entry(`late${i}.txt`)])
        for (const peer of holders) assert.equal(held(federation, peer).size, 1 + i, `${peer} keeps the base and ${i} delta(s)`)
        assert.deepEqual(Object.values(service.pieceHolders()).map((ids) => ids.length), [1 + i, 1 + i], 'leases renew the whole chain')
        const recovered = await serviceOn(federation).load()
        assert.equal(recovered.generation, 1 + i)
        assert.equal(recovered.entries.length, 100 + i)
      }
      await service.update((entries) => entries.slice(1))
      const pieces = ['p1', 'p2', 'p3'].reduce((n, p) => n + held(federation, p).size, 0)
      assert.equal(pieces, 2, 'compacted: one base on two holders, the old chain deleted')
      const recovered = await serviceOn(federation).load()
      assert.equal(recovered.generation, 5)
      assert.equal(recovered.entries.length, 102)
    })

    it('a change that removes an entry writes a new base, so the holders do not keep what was removed', async () => {
      const federation = new MemoryFederation()
      for (const peer of ['p1', 'p2']) federation.addPeer(peer)
      const service = serviceOn(federation)
      await service.update(() => many(100))
      const whole = [...held(federation, 'p1').values()][0]!.byteLength
      await service.update((entries) => [...entries, entry('added.txt')])
      assert.equal(held(federation, 'p1').size, 2, 'an addition: a delta over the base')
      await service.update((entries) => entries.filter((e) => e.name !== 'added.txt'))
      assert.equal(held(federation, 'p1').size, 1, 'one entry removed: a new base alone, the chain that named it deleted')
      await service.update((entries) => entries.slice(0, 40))
      assert.equal(held(federation, 'p1').size, 1, '60 removed: a new base again')
      assert.ok([...held(federation, 'p1').values()][0]!.byteLength < whole / 2)
      const recovered = await serviceOn(federation).load()
      assert.equal(recovered.entries.length, 40)
      assert.ok(!recovered.entries.some((e) => e.name === 'added.txt'))
    })

    it('a chain holder that fails a delta is dropped and the next change writes a new base', async () => {
      const federation = new MemoryFederation()
      for (const peer of ['p1', 'p2']) federation.addPeer(peer)
      const service = serviceOn(federation)
      await service.update(() => many(50))
      federation.reachable.delete('p2')
      await service.update((entries) => [...entries, entry('while-p2-is-away.txt')])
      assert.deepEqual(Object.keys(service.pieceHolders()), ['p1'], 'a delta does not go to a holder that is gone: a new base on who is there')
      federation.reachable.add('p2')
      await service.update((entries) => [...entries, entry('next.txt')])
      assert.equal(held(federation, 'p1').size, 2, 'a base and one delta')
      const recovered = await serviceOn(federation).load()
      assert.equal(recovered.entries.length, 52)
    })

    it('attack: a chain holder that refuses the delta (full, or on purpose) does not leave the catalogue on fewer holders: the change is a new base at once', async () => {
      const federation = new RefusingStores()
      for (const peer of ['p1', 'p2', 'p3']) federation.addPeer(peer)
      const service = serviceOn(federation)
      await service.update(() => many(50))
      const [kept, refusing] = ['p1', 'p2', 'p3'].filter((p) => held(federation, p).size > 0)
      federation.refusing.add(refusing!)
      await service.update((entries) => [...entries, entry('while-refused.txt')])
      const holders = Object.keys(service.pieceHolders())
      assert.equal(holders.length, 2, 'as many holders as replicas')
      assert.ok(!holders.includes(refusing!))
      await service.settled()
      // the holder that kept the chain goes away: the others still recover the newest state
      federation.reachable.delete(kept!)
      const recovered = await serviceOn(federation).load()
      assert.equal(recovered.generation, 2)
      assert.ok(recovered.entries.some((e) => e.name === 'while-refused.txt'))
    })

    it('attack: a holder that drops the newest delta cannot roll a recovery back while another holder serves it', async () => {
      const federation = new MemoryFederation()
      for (const peer of ['p1', 'p2']) federation.addPeer(peer)
      const service = serviceOn(federation)
      await service.update(() => many(50))
      await service.update((entries) => [...entries, entry('one.txt')])
      const before = new Set(held(federation, 'p1').keys())
      await service.update((entries) => [...entries, entry('two.txt')])
      const newest = [...held(federation, 'p1').keys()].find((id) => !before.has(id))!
      held(federation, 'p1').delete(newest)
      const recovered = await serviceOn(federation).load()
      assert.equal(recovered.generation, 3)
      assert.ok(recovered.entries.some((e) => e.name === 'two.txt'))
    })

    it('attack: a holder that drops a delta in the middle makes recovery refuse, not answer with the older state, and nothing is written over it', async () => {
      const federation = new MemoryFederation()
      for (const peer of ['p1', 'p2']) federation.addPeer(peer)
      const service = serviceOn(federation)
      await service.update(() => many(50))
      const base = new Set(held(federation, 'p1').keys())
      await service.update((entries) => [...entries, entry('one.txt')])
      const middle = [...held(federation, 'p1').keys()].find((id) => !base.has(id))!
      await service.update((entries) => [...entries, entry('two.txt')])
      held(federation, 'p1').delete(middle)
      federation.reachable.delete('p2')
      const cache = new MemoryCache()
      const recovering = serviceOn(federation, { cache })
      await assert.rejects(recovering.load(), { name: 'CatalogueGapError' })
      await assert.rejects(recovering.update((entries) => [...entries, entry('over-an-old-state.txt')]), { name: 'CatalogueGapError' })
      assert.equal(await cache.read(), undefined, 'nothing cached')
      assert.equal(held(federation, 'p1').size, 2, 'nothing stored or deleted')
      federation.reachable.add('p2')
      assert.equal((await recovering.load()).generation, 3, 'whole again once the other holder is back')
    })
  })
})

