import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { ReedSolomonCodec } from '../src/adapters/erasure/reed-solomon-codec.ts'
import { silentLoggerFactory } from '../src/adapters/logging/stderr-logger.ts'
import { CatalogueService } from '../src/app/owner/catalogue-service.ts'
import { OwnerService } from '../src/app/owner/owner-service.ts'
import { LeaseRenewal } from '../src/app/owner/lease-renewal.ts'
import { ownerFileCapabilities } from '../src/domain/capabilities/file-capabilities.ts'
import { commitmentToDecimal, poseidonCommitment } from '../src/domain/proofs/poseidon-commitment.ts'
import { leaseSecret, retrievalSecret } from '../src/domain/crypto/key-derivation.ts'
import { leaseStores } from '../src/app/owner/leased-stores.ts'
import { parseFileId } from '../src/domain/formats/file-id.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { MemoryCache, MemoryFederation } from './helpers/memory-federation.ts'
import { fakePeerId } from './helpers/owner-fixtures.ts'
import { tempDir } from './helpers/temp-dir.ts'
import { BusyError } from '../src/domain/protocol/federation-errors.ts'
import type { FederationClient } from '../src/ports/federation-client.ts'

const quiet = (): void => {}

/** Every record the memory federation holds, as `D chunkId` per peer. */
function records (federation: MemoryFederation): Map<string, Set<string>> {
  const held = new Map<string, Set<string>>()
  for (const [peer, byC] of federation.nodes) {
    const set = new Set<string>()
    for (const [c, chunks] of byC) for (const id of chunks.keys()) set.add(`${federation.deleteCommitments.get(peer)?.get(c)?.get(id) ?? c} ${id}`)
    held.set(peer, set)
  }
  return held
}

describe('the owner renews the leases of what it references (in memory)', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  before(async () => { dir = await tempDir() })
  after(async () => { await dir?.cleanup() })

  it('renews every piece of the catalogue, the manifests and the data (erasure-coded, copies, a batch) on each holder, and nothing it no longer references; records stored without L cost one session per holder and D once, then one per holder', async () => {
    const federation = new MemoryFederation()
    for (let i = 0; i < 7; i++) federation.addPeer(fakePeerId())
    const master = randomBytes(32)
    const deps = { master, federation, log: silentLoggerFactory('test'), codec: new ReedSolomonCodec() }
    const catalogue = new CatalogueService({ ...deps, cache: new MemoryCache(), replicas: 3 })
    const owner = new OwnerService(deps, catalogue)
    const big = join(dir.path, 'big.bin')
    await writeFile(big, randomBytes(3 * 1024 * 1024 + 1000))
    await owner.put([big], { kind: 'erasure', scheme: { data: 4, parity: 2 } }, quiet)
    const copied = join(dir.path, 'copied.bin')
    await writeFile(copied, randomBytes(2 * 1024 * 1024 + 5))
    await owner.put([copied], { kind: 'replicas', replicas: 3 }, quiet)
    const notes = join(dir.path, 'notes')
    await mkdir(notes, { recursive: true })
    for (let i = 0; i < 4; i++) await writeFile(join(notes, `n${i}.txt`), randomBytes(100 + i))
    await owner.put([notes], { kind: 'replicas', replicas: 3 }, quiet)
    const entries = (await catalogue.load()).entries.filter((e) => e.kind === 'file')
    assert.ok(entries.some((e) => e.batch !== undefined), 'a batch was made')

    // a piece nothing references any more: a replaced shard left under the file's own commitments
    const bigEntry = entries.find((e) => e.name.endsWith('big.bin'))!
    const caps = ownerFileCapabilities(master, parseFileId(bigEntry.fileId))
    const C = commitmentToDecimal(poseidonCommitment(retrievalSecret(caps.read.readRoot)))
    const D = commitmentToDecimal(poseidonCommitment(caps.deleteSecret))
    const stray = randomBytes(64)
    const holder = [...federation.nodes.keys()][0]!
    const channel = await federation.openStore(holder)
    await channel.store({ chunkId: chunkIdOf(stray), commitment: C, deleteCommitment: D, data: stray })
    await channel.close()

    const before = records(federation)
    federation.counts.reset()
    const leases = new LeaseRenewal(deps, catalogue)
    const round = await leases.renew()
    const expected = [...before].reduce((n, [, set]) => n + set.size, 0) - 1
    assert.deepEqual(round, { renewed: expected, missing: 0, failed: 0 })
    for (const [peer, held] of before) {
      const renewed = federation.renewed.get(peer) ?? new Set()
      for (const record of held) {
        if (record === `${D} ${chunkIdOf(stray)}`) assert.equal(renewed.has(record), false, 'the unreferenced piece is left to expire')
        else assert.ok(renewed.has(record), `${peer} ${record}`)
      }
    }
    // stored without L (no leaseStores here): one session under L per holder finds nothing,
    // then one per holder and delete commitment renews them and sets L (and the reads of the manifests)
    const L = commitmentToDecimal(poseidonCommitment(leaseSecret(master)))
    const holders = [...before].filter(([, set]) => set.size > 0).map(([peer]) => peer).sort()
    const deleteSessions = [...federation.counts.sessionOpens].filter(([key]) => key.includes(' delete '))
    assert.ok(deleteSessions.every(([, n]) => n === 1), JSON.stringify(deleteSessions))
    assert.deepEqual(deleteSessions.filter(([key]) => key.endsWith(` ${L}`)).map(([key]) => key.split(' ')[0]).sort(), holders)
    assert.ok(deleteSessions.length > holders.length, 'the D sessions of the migration')

    // the next round reads no manifest again, and renews everything in one session per holder under L
    federation.counts.reset()
    assert.deepEqual(await leases.renew(), round)
    assert.deepEqual(leases.totals(), { renewed: 2 * round.renewed, missing: 0, failed: 0 }, 'what /metrics shows')
    assert.deepEqual([...federation.counts.sessionOpens.keys()].filter((key) => key.includes(' read ')), [])
    assert.deepEqual([...federation.counts.sessionOpens.keys()].sort(), holders.map((peer) => `${peer} delete ${L}`).sort())
  })

  it('files of their own commitments (erasure-coded), stored with L: a round costs one proof per holder, not one per file and holder; a holder from before lease commitments is renewed per D, and no longer asked under L', async () => {
    const memory = new MemoryFederation()
    for (let i = 0; i < 6; i++) memory.addPeer(fakePeerId())
    const master = randomBytes(32)
    const L = commitmentToDecimal(poseidonCommitment(leaseSecret(master)))
    const old = [...memory.nodes.keys()][0]!
    memory.beforeLeaseCommitments.add(old)
    const deps = { master, federation: leaseStores(memory, L), log: silentLoggerFactory('test'), codec: new ReedSolomonCodec() }
    const catalogue = new CatalogueService({ ...deps, cache: new MemoryCache(), replicas: 3 })
    const owner = new OwnerService(deps, catalogue)
    // each 2+1 file goes to 3 of the 6 peers: with 24 files the old holder misses all but one
    // of them once in ~600,000 runs (with 8, once in ~28: a flake CI met)
    const FILES = 24
    for (let i = 0; i < FILES; i++) {
      const path = join(dir.path, `own-${i}.bin`)
      await writeFile(path, randomBytes(5000 + i))
      await owner.put([path], { kind: 'erasure', scheme: { data: 2, parity: 1 } }, quiet)
    }
    const held = records(memory)
    const total = [...held].reduce((n, [, set]) => n + set.size, 0)
    const commitments = (peer: string): number => new Set([...held.get(peer)!].map((r) => r.split(' ')[0])).size
    assert.ok(commitments(old) >= 2, 'the old holder keeps records of several files, each under its own D')

    // each holder whose every record was renewed is told to the repair service (expired or lost, RepairService.renewedOn)
    const told = new Map<string, number>()
    const leases = new LeaseRenewal(deps, catalogue, (peer, at) => told.set(peer, at))
    memory.counts.reset()
    const started = Date.now()
    assert.deepEqual(await leases.renew(), { renewed: total, missing: 0, failed: 0 })
    const opened = (): string[] => [...memory.counts.sessionOpens.keys()].filter((key) => key.includes(' delete '))
    const on = (peer: string): string[] => opened().filter((key) => key.startsWith(`${peer} `))
    const holders = [...held].filter(([, set]) => set.size > 0).map(([peer]) => peer)
    assert.ok(holders.includes(old))
    for (const peer of holders) {
      if (peer === old) continue
      assert.deepEqual(on(peer), [`${peer} delete ${L}`], 'one proof, under L, renews every file there')
    }
    assert.equal(on(old).length, 1 + commitments(old), 'the old holder: the proof under L learns it keeps none, then one per D')

    memory.counts.reset()
    assert.deepEqual(await leases.renew(), { renewed: total, missing: 0, failed: 0 })
    assert.equal(on(old).length, commitments(old), 'not asked under L again')
    assert.equal(on(old).includes(`${old} delete ${L}`), false)
    assert.equal(opened().length, holders.length - 1 + commitments(old))
    assert.deepEqual(new Set(told.keys()), new Set(holders))
    assert.ok([...told.values()].every((at) => at >= started && at <= Date.now()))

    // a holder that cannot be reached is not told: its leases were not renewed
    const away = holders.find((p) => p !== old)!
    memory.reachable.delete(away)
    told.clear()
    await leases.renew()
    assert.deepEqual(new Set(told.keys()), new Set(holders.filter((p) => p !== away)))

    // what a holder no longer has is named: after a gap, only that may have lapsed (RepairService.renewedOn)
    memory.reachable.add(away)
    const dropper = holders.find((p) => p !== old && p !== away)!
    const chunks = [...memory.nodes.get(dropper)!.values()].find((c) => c.size > 0)!
    const dropped = [...chunks.keys()][0]!
    chunks.delete(dropped)
    const missing = new Map<string, string[]>()
    await new LeaseRenewal(deps, catalogue, (peer, _at, ids) => missing.set(peer, ids)).renew()
    assert.deepEqual(new Set(missing.keys()), new Set(holders))
    for (const peer of holders) assert.deepEqual(missing.get(peer), peer === dropper ? [dropped] : [])
  })

  it('a holder that answers BUSY (its request rate) is asked again after a pause, and the round still renews everything', async () => {
    const memory = new MemoryFederation()
    for (let i = 0; i < 4; i++) memory.addPeer(fakePeerId())
    const busyOnce = new Set<string>()
    // each holder refuses its first renewal as a node over its rate would
    const federation: FederationClient = {
      candidates: async (o) => memory.candidates(o),
      openStore: async (peer, o) => memory.openStore(peer, o),
      openSession: async (peer, proof, o) => {
        const session = await memory.openSession(peer, proof, o)
        return {
          ...session,
          renew: async (ids, ro) => {
            if (!busyOnce.has(peer)) {
              busyOnce.add(peer)
              throw new BusyError('request rate limit reached; slow down')
            }
            return session.renew!(ids, ro)
          }
        }
      }
    }
    const master = randomBytes(32)
    const deps = { master, federation, log: silentLoggerFactory('test'), codec: new ReedSolomonCodec() }
    const catalogue = new CatalogueService({ ...deps, cache: new MemoryCache(), replicas: 3 })
    const file = join(dir.path, 'busy.bin')
    await writeFile(file, randomBytes(100_000))
    await new OwnerService(deps, catalogue).put([file], { kind: 'replicas', replicas: 3 }, quiet)
    const expected = [...records(memory)].reduce((n, [, set]) => n + set.size, 0)
    assert.deepEqual(await new LeaseRenewal(deps, catalogue).renew(), { renewed: expected, missing: 0, failed: 0 })
    assert.deepEqual([...busyOnce].sort(), [...records(memory)].filter(([, set]) => set.size > 0).map(([peer]) => peer).sort(), 'every holder was busy once')
  })
})
