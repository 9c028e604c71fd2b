import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, beforeEach, describe, it } from 'node:test'
import { ReedSolomonCodec } from '../src/adapters/erasure/reed-solomon-codec.ts'
import { silentLoggerFactory } from '../src/adapters/logging/stderr-logger.ts'
import { CatalogueService } from '../src/app/owner/catalogue-service.ts'
import { OwnerService } from '../src/app/owner/owner-service.ts'
import { RepairService, type RepairSettings } from '../src/app/owner/repair-service.ts'
import { RepairBudget } from '../src/app/owner/repair-budget.ts'
import { BATCH_MAX_BYTES } from '../src/app/owner/batches.ts'
import { readManifest } from '../src/app/owner/fetch-file.ts'
import { PeerSessions } from '../src/app/owner/peer-sessions.ts'
import { ownerFileCapabilities } from '../src/domain/capabilities/file-capabilities.ts'
import { commitmentToDecimal, poseidonCommitment } from '../src/domain/proofs/poseidon-commitment.ts'
import { retrievalSecret } from '../src/domain/crypto/key-derivation.ts'
import { parseFileId } from '../src/domain/formats/file-id.ts'
import type { Manifest } from '../src/domain/formats/manifest.ts'
import type { PlacementPolicy } from '../src/domain/membership/placement.ts'
import type { StorageCandidate } from '../src/ports/federation-client.ts'
import { MemoryCache, MemoryFederation } from './helpers/memory-federation.ts'
import { fakePeerId } from './helpers/owner-fixtures.ts'
import { tempDir } from './helpers/temp-dir.ts'
import { BusyError, MalformedMessageError } from '../src/domain/protocol/federation-errors.ts'
import type { AbortOptions } from '../src/ports/abort-options.ts'
import { DEFAULT_DEPARTURE_PRIOR, YEAR_MS } from '../src/domain/durability/departure-estimate.ts'
import { fileLoss } from '../src/domain/durability/file-durability.ts'
import { LevelRepairStateStore } from '../src/adapters/data-dir/level-repair-state.ts'

const quiet = (): void => {}
const codec = new ReedSolomonCodec()
const SCHEME = { data: 4, parity: 2 }

interface World {
  federation: MemoryFederation
  owner: OwnerService
  catalogue: CatalogueService
  repair: RepairService
  master: Uint8Array
  clock: { now: number }
}

function world (peers: number, settings: Partial<RepairSettings> = {}, placement?: Partial<PlacementPolicy>, federation = new MemoryFederation()): World {
  for (let i = 0; i < peers; i++) federation.addPeer(fakePeerId())
  const master = randomBytes(32)
  const log = silentLoggerFactory('test')
  const deps = { master, federation, log, codec, ...(placement === undefined ? {} : { placement }) }
  const catalogue = new CatalogueService({ ...deps, cache: new MemoryCache(), replicas: 3 })
  const clock = { now: 1_000_000 }
  const repair = new RepairService(deps, catalogue, { repairAfterMs: 60_000, auditSample: 2, budget: new RepairBudget(1e12), concurrency: 2, ...settings }, () => clock.now)
  return { federation, owner: new OwnerService(deps, catalogue), catalogue, repair, master, clock }
}

async function manifestOf (w: World, fileId: string): Promise<Manifest> {
  const entry = (await w.catalogue.load()).entries.find((e) => e.fileId === fileId)!
  const manifest = await PeerSessions.using(w.federation, undefined, async (sessions) => readManifest(w.federation, sessions, silentLoggerFactory('test'), {
    fileId: parseFileId(fileId), read: ownerFileCapabilities(w.master, parseFileId(fileId)).read, manifest: entry.manifest!
  }))
  return manifest!
}

/** Peers that answer BUSY to every read session under the commitments named (`peer commitment`): an audit is never answered. */
class AuditEvader extends MemoryFederation {
  readonly evading = new Set<string>()
  override async openSession (peerId: string, proof: Parameters<MemoryFederation['openSession']>[1], options?: AbortOptions): ReturnType<MemoryFederation['openSession']> {
    const session = await super.openSession(peerId, proof, options)
    if (proof.action !== 'read' || !this.evading.has(`${peerId} ${commitmentToDecimal(poseidonCommitment(proof.secret))}`)) return session
    const busy = async (): Promise<never> => { throw new BusyError(`${peerId} is busy`) }
    return { ...session, get: busy, audit: busy }
  }
}

/** The peers holding any shard of the file under its read commitment. */
function shardHolders (w: World, fileId: string): string[] {
  const commitment = commitmentToDecimal(poseidonCommitment(retrievalSecret(ownerFileCapabilities(w.master, parseFileId(fileId)).read.readRoot)))
  return [...w.federation.nodes].filter(([, byC]) => (byC.get(commitment)?.size ?? 0) > 0).map(([peer]) => peer)
}

describe('audits and repair of erasure-coded files (in memory)', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  let path: string
  const content = randomBytes(4 * 1024 * 1024 + 300_000)

  beforeEach(async () => {
    dir ??= await tempDir()
    path = join(dir.path, 'file.bin')
    await writeFile(path, content)
  })
  after(async () => { await dir?.cleanup() })

  async function put (w: World): Promise<{ id: string, holders: string[] }> {
    const [outcome] = await w.owner.put([path], { kind: 'erasure', scheme: SCHEME }, quiet)
    return { id: outcome!.id, holders: outcome!.holders }
  }

  async function readsBack (w: World, id: string, name: string): Promise<void> {
    await w.owner.get(id, { cwd: dir.path, output: join(dir.path, name) }, quiet)
    assert.deepEqual(await readFile(join(dir.path, name)), content)
  }

  it('a whole file is healthy, audited on every holder, and left alone', async () => {
    const w = world(8)
    const { id } = await put(w)
    const [check] = await w.repair.check(undefined, { repair: true })
    assert.equal(check!.error, undefined)
    assert.deepEqual([check!.healthy, check!.needed, check!.total], [6, 4, 6])
    assert.ok(check!.audited >= 6, 'every holder answered at least one sampled piece')
    assert.equal(check!.failed, 0)
    assert.equal(check!.repaired, 0)
    assert.equal((await manifestOf(w, id)).revision, 1)
  })

  it('holders away longer than repairAfter are replaced: shards rebuilt on other nodes, new revision, reads back', async () => {
    const w = world(8)
    const { id, holders } = await put(w)
    await w.repair.check(undefined, { repair: true })
    const gone = holders.slice(0, 2)
    for (const peer of gone) w.federation.reachable.delete(peer)
    w.clock.now += 1000
    const [early] = await w.repair.check(undefined, { repair: false })
    assert.deepEqual([early!.healthy, early!.total], [4, 6])
    w.clock.now += 60_000
    const [check] = await w.repair.check(undefined, { repair: true })
    assert.equal(check!.repaired, 2 * 2, 'two slots of two stripes rebuilt')
    assert.deepEqual([check!.healthy, check!.total], [6, 6])
    const manifest = await manifestOf(w, id)
    // per stripe, k shards read and the two lost ones written: the repair traffic status shows
    assert.equal(w.repair.queue().repairBytes, 2 * (SCHEME.data + 2) * manifest.chunkSize)
    assert.equal(manifest.revision, 2)
    const now = [...new Set(manifest.holders.flat())]
    assert.equal(now.length, 6, 'still one node per slot')
    assert.ok(gone.every((p) => !now.includes(p)), 'the lost holders are no longer named')
    for (let s = 0; s < 2; s++) assert.equal(new Set(manifest.holders.slice(s * 6, (s + 1) * 6).flat()).size, 6)
    assert.equal((await w.repair.healthOf((await w.catalogue.load()).entries)).get(id)?.healthy, 6)
    // readable without the two new holders too: the rebuilt shards are real shards
    await readsBack(w, id, 'after-repair.bin')
    for (const peer of now.filter((p) => !holders.includes(p))) w.federation.reachable.delete(peer)
    await readsBack(w, id, 'without-new.bin')
  })

  it('a removed file\'s manifest is dropped by the next round: it is neither known nor degraded, and its holders are not watched', async () => {
    const w = world(8)
    const { id, holders } = await put(w)
    await w.repair.check(undefined, { repair: true })
    w.federation.reachable.delete(holders[0]!)
    await w.repair.check(undefined, { repair: false })
    assert.deepEqual([w.repair.queue().files, w.repair.queue().degraded], [1, 1])
    await w.owner.remove(id)
    await w.repair.sweep()
    assert.deepEqual([w.repair.queue().files, w.repair.queue().degraded, w.repair.queue().waiting], [0, 0, 0])
    assert.equal((await w.repair.healthOf([{ fileId: id, name: 'file.bin', kind: 'file', size: 0, mode: 0o644, mtimeMs: 0 }])).size, 0)
  })

  it('an old holder that returns has its replaced shards deleted', async () => {
    const w = world(8)
    const { id, holders } = await put(w)
    await w.repair.check(undefined, { repair: true })
    const gone = holders[0]!
    w.federation.reachable.delete(gone)
    w.clock.now += 61_000
    await w.repair.check(undefined, { repair: true })
    w.clock.now += 61_000
    await w.repair.check(undefined, { repair: true })
    assert.ok(shardHolders(w, id).includes(gone), 'it keeps them while away')
    assert.equal(w.repair.queue().deletions > 0, true)
    w.federation.reachable.add(gone)
    await w.repair.check(undefined, { repair: true })
    assert.ok(!shardHolders(w, id).includes(gone), 'its shards are gone once it answered')
    assert.equal((await manifestOf(w, id)).holders.flat().includes(gone), false)
  })

  it('the state outlives a restart: a holder that returns after the owner\'s daemon restarted still has its replaced shards deleted, and a caught holder stays distrusted', async () => {
    const location = join(dir.path, `repair-state-${randomBytes(4).toString('hex')}`)
    let state = await LevelRepairStateStore.open(location)
    const w = world(9, { state, auditSample: 1 })
    try {
      const { id, holders } = await put(w)
      await w.repair.check(undefined, { repair: true })
      const [gone, liar] = [holders[0]!, holders[1]!]
      for (const chunks of w.federation.nodes.get(liar)!.values()) chunks.clear()
      w.federation.reachable.delete(gone)
      w.clock.now += 61_000
      await w.repair.check(undefined, { repair: true })
      assert.ok(w.repair.distrusts(liar))
      assert.ok(w.repair.queue().deletions > 0)
      assert.ok(shardHolders(w, id).includes(gone), 'it keeps them while away')
      const before = w.repair.queue()

      // the daemon restarts: a new repair service over the same data directory
      await state.close()
      state = await LevelRepairStateStore.open(location)
      const log = silentLoggerFactory('test')
      const restarted = new RepairService({ master: w.master, federation: w.federation, log, codec }, w.catalogue, {
        repairAfterMs: 60_000, auditSample: 1, budget: new RepairBudget(1e12), concurrency: 2, state
      }, () => w.clock.now)
      await restarted.restore()
      assert.ok(restarted.distrusts(liar), 'still distrusted: not chosen for new pieces')
      assert.deepEqual([restarted.queue().deletions, restarted.queue().repairedShards, restarted.queue().audits], [before.deletions, before.repairedShards, before.audits])

      w.federation.reachable.add(gone)
      await restarted.check(undefined, { repair: true })
      assert.ok(!shardHolders(w, id).includes(gone), 'its shards are gone once it answered')
      assert.equal(restarted.queue().deletions, 0)
      await readsBack(w, id, 'after-restart.bin')
    } finally {
      await state.close()
    }
  })

  it('a holder unreachable for less than repairAfter is waited for while the file has shards to spare', async () => {
    const w = world(8)
    const { id, holders } = await put(w)
    await w.repair.check(undefined, { repair: true })
    w.federation.reachable.delete(holders[0]!)
    w.clock.now += 1000
    const [check] = await w.repair.check(undefined, { repair: true })
    assert.equal(check!.repaired, 0)
    assert.equal(check!.healthy, 5)
    assert.deepEqual([w.repair.queue().degraded, w.repair.queue().waiting], [1, 1])
    assert.equal((await manifestOf(w, id)).revision, 1)
    // down to k: one more loss would lose the file, so nothing is waited for
    w.federation.reachable.delete(holders[1]!)
    w.clock.now += 1000
    const [urgent] = await w.repair.check(undefined, { repair: true })
    assert.equal(urgent!.repaired, 2 * 2)
    assert.equal(urgent!.healthy, 6)
  })

  it('a file below k usable shards is not read for a rebuild that cannot succeed, round after round, until a holder returns', async () => {
    const w = world(8)
    const { id, holders } = await put(w)
    await w.repair.check(undefined, { repair: true })
    const away = holders.slice(0, SCHEME.parity + 1)
    for (const peer of away) w.federation.reachable.delete(peer)
    for (let round = 0; round < 3; round++) {
      w.clock.now += 61_000
      const [check] = await w.repair.check(undefined, { repair: true })
      assert.equal(check!.repaired, 0)
      assert.equal(check!.healthy, SCHEME.data - 1)
    }
    assert.equal(w.repair.queue().repairBytes, 0, 'no budget spent and no shard read on a stripe with fewer than k to read from')
    // one holder back: k shards to read, and the lost ones are rebuilt
    w.federation.reachable.add(away[0]!)
    const [back] = await w.repair.check(undefined, { repair: true })
    assert.equal(back!.healthy, SCHEME.data + SCHEME.parity)
    assert.ok(w.repair.queue().repairBytes > 0)
    await readsBack(w, id, 'after-return.bin')
  })

  it('a holder that silently dropped its shards is caught by an audit, distrusted and repaired at once', async () => {
    const w = world(8, { auditSample: 1 })
    const { id, holders } = await put(w)
    const liar = holders[1]!
    for (const chunks of w.federation.nodes.get(liar)!.values()) chunks.clear()
    const [check] = await w.repair.check(undefined, { repair: true })
    assert.equal(check!.failed, 1)
    assert.ok(w.repair.distrusts(liar))
    assert.equal(check!.repaired, 2)
    assert.equal(check!.healthy, 6)
    assert.equal((await manifestOf(w, id)).holders.flat().includes(liar), false)
    assert.deepEqual(w.repair.queue().distrusted, [liar])
  })

  it('expired, not lost: a holder the owner has not renewed on for a lease\'s length that collected the shards is not distrusted, another that dropped them is; both are repaired', async () => {
    const LEASE = 100_000
    const w = world(8, { auditSample: 1, leaseDurationMs: LEASE })
    w.clock.now = Date.now()
    const { id, holders } = await put(w)
    const [unrenewed, renewed] = [holders[0]!, holders[1]!]
    w.repair.renewedOn(unrenewed, w.clock.now, [])
    w.clock.now += LEASE + 1
    // the other was renewed just now: what it lacks, it lost
    w.repair.renewedOn(renewed, w.clock.now, [])
    for (const peer of [unrenewed, renewed]) for (const chunks of w.federation.nodes.get(peer)!.values()) chunks.clear()
    const [check] = await w.repair.check(undefined, { repair: true })
    assert.equal(check!.expired, 1)
    assert.equal(check!.failed, 1)
    assert.equal(w.repair.distrusts(unrenewed), false, 'the honest holder whose leases lapsed is not blamed')
    assert.equal(w.repair.distrusts(renewed), true)
    assert.equal(check!.repaired, 2 * 2)
    assert.equal(check!.healthy, 6)
    const named = (await manifestOf(w, id)).holders.flat()
    assert.ok(!named.includes(unrenewed) && !named.includes(renewed))
    await readsBack(w, id, 'after-expiry.bin')
  })

  /**
   * A file put, renewed on one of its holders before the owner went away for more than a
   * lease (receipts carry real times), and that holder's next renewal finding its shards
   * collected, which they then are.
   */
  async function collectedAfterGap (w: World, lease: number): Promise<{ id: string, peer: string }> {
    const { id, holders } = await put(w)
    const peer = holders[2]!
    w.repair.renewedOn(peer, Date.now() - lease - 10, [])
    await new Promise((resolve) => setTimeout(resolve, 5))
    w.clock.now = Date.now()
    w.repair.renewedOn(peer, w.clock.now, [...w.federation.nodes.get(peer)!.values()].flatMap((chunks) => [...chunks.keys()]))
    for (const chunks of w.federation.nodes.get(peer)!.values()) chunks.clear()
    return { id, peer }
  }

  it('expired after a gap: a renewal after a lease\'s length without one forgives what it found missing, not what was stored after', async () => {
    const LEASE = 100_000
    const w = world(8, { auditSample: 1, leaseDurationMs: LEASE })
    const { id, peer } = await collectedAfterGap(w, LEASE)
    const [check] = await w.repair.check(undefined, { repair: true })
    assert.deepEqual([check!.expired, check!.failed], [1, 0])
    assert.equal(w.repair.distrusts(peer), false)
    assert.equal(check!.healthy, 6)
    assert.equal((await manifestOf(w, id)).holders.flat().includes(peer), false)

    // a file stored after that renewal, dropped there: lost, and the holder is distrusted
    await writeFile(join(dir.path, 'later.bin'), randomBytes(3 * 1024 * 1024))
    const others = [...w.federation.reachable].filter((p) => p !== peer)
    for (const p of others.slice(5)) w.federation.reachable.delete(p)
    const [later] = await w.owner.put([join(dir.path, 'later.bin')], { kind: 'erasure', scheme: SCHEME }, quiet)
    for (const p of others) w.federation.reachable.add(p)
    assert.ok(later!.holders.includes(peer))
    for (const chunks of w.federation.nodes.get(peer)!.values()) chunks.clear()
    const checks = await w.repair.check(undefined, { repair: true })
    assert.equal(checks.find((c) => c.fileId === later!.id)!.failed, 1)
    assert.equal(w.repair.distrusts(peer), true)
  })

  it('expired after a gap, across a restart: what the renewal after the gap found missing is still forgiven by a restarted daemon', async () => {
    const LEASE = 100_000
    const location = join(dir.path, `repair-state-${randomBytes(4).toString('hex')}`)
    let state = await LevelRepairStateStore.open(location)
    const w = world(8, { auditSample: 1, leaseDurationMs: LEASE, state })
    try {
      const { peer } = await collectedAfterGap(w, LEASE)
      await w.repair.check(undefined, { repair: false }) // a round waits for the saves before it: the renewals'
      await state.close()
      state = await LevelRepairStateStore.open(location)
      const restarted = new RepairService({ master: w.master, federation: w.federation, log: silentLoggerFactory('test'), codec }, w.catalogue, {
        repairAfterMs: 60_000, auditSample: 1, budget: new RepairBudget(1e12), concurrency: 2, leaseDurationMs: LEASE, state
      }, () => w.clock.now)
      await restarted.restore()
      const [check] = await restarted.check(undefined, { repair: true })
      assert.deepEqual([check!.expired, check!.failed], [1, 0])
      assert.equal(restarted.distrusts(peer), false, 'the honest holder is not blamed after the restart')
    } finally {
      await state.close()
    }
  })

  it('attack: a gap forgives only what the renewal after it found missing; a holder that kept the shards through that renewal and drops them later is distrusted', async () => {
    const LEASE = 100_000
    const w = world(8, { auditSample: 1, leaseDurationMs: LEASE })
    const { holders } = await put(w)
    const peer = holders[2]!
    // the owner was away for more than a lease; the renewal after it renewed every shard there
    w.repair.renewedOn(peer, Date.now() - LEASE - 10, [])
    await new Promise((resolve) => setTimeout(resolve, 5))
    w.clock.now = Date.now()
    w.repair.renewedOn(peer, w.clock.now, [])
    const [kept] = await w.repair.check(undefined, { repair: false })
    assert.deepEqual([kept!.expired ?? 0, kept!.failed], [0, 0])
    // half a lease later, renewed again, it drops what the owner renewed on it: no lease lapsed
    w.clock.now += LEASE / 2
    w.repair.renewedOn(peer, w.clock.now, [])
    for (const chunks of w.federation.nodes.get(peer)!.values()) chunks.clear()
    const [check] = await w.repair.check(undefined, { repair: true })
    assert.deepEqual([check!.expired ?? 0, check!.failed], [0, 1])
    assert.equal(w.repair.distrusts(peer), true)
  })

  it('after a gap, what the renewal found missing is expired and what it renewed is lost', async () => {
    const LEASE = 100_000
    const w = world(8, { auditSample: 100, leaseDurationMs: LEASE })
    const a = await put(w)
    await writeFile(join(dir.path, 'other.bin'), randomBytes(3 * 1024 * 1024))
    const [b] = await w.owner.put([join(dir.path, 'other.bin')], { kind: 'erasure', scheme: SCHEME }, quiet)
    const peer = a.holders.find((p) => b!.holders.includes(p))!
    const idsOf = async (fileId: string): Promise<string[]> => {
      const m = await manifestOf(w, fileId)
      return m.holders.flatMap((h, i) => h.includes(peer) ? [m.chunks[i]!.id] : [])
    }
    const [ofA, ofB] = [await idsOf(a.id), await idsOf(b!.id)]
    const drop = (ids: string[]): void => { for (const chunks of w.federation.nodes.get(peer)!.values()) for (const id of ids) chunks.delete(id) }
    w.repair.renewedOn(peer, Date.now() - LEASE - 10, [])
    await new Promise((resolve) => setTimeout(resolve, 5))
    w.clock.now = Date.now()
    // the renewal after the gap: the first file's shards had lapsed there, the other's were renewed
    w.repair.renewedOn(peer, w.clock.now, ofA)
    drop(ofA)
    const first = await w.repair.check(undefined, { repair: true })
    assert.deepEqual(first.map((c) => [c.fileId, c.expired ?? 0, c.failed]).sort(), [[a.id, 1, 0], [b!.id, 0, 0]].sort())
    assert.equal(w.repair.distrusts(peer), false, 'what lapsed during the gap is expired')
    drop(ofB)
    const second = await w.repair.check(undefined, { repair: false })
    assert.equal(second.find((c) => c.fileId === b!.id)!.failed, 1, 'a shard the renewal after the gap renewed was lost')
    assert.equal(w.repair.distrusts(peer), true)
  })

  it('attack: a holder that drops one file\'s shards and answers BUSY to that file\'s audits alone counts as gone for it after repairAfter; the file is repaired, and its other files are not touched', async () => {
    const federation = new AuditEvader()
    const w = world(8, { auditSample: 2 }, undefined, federation)
    const { id, holders } = await put(w)
    await writeFile(join(dir.path, 'kept.bin'), randomBytes(3 * 1024 * 1024))
    const [other] = await w.owner.put([join(dir.path, 'kept.bin')], { kind: 'erasure', scheme: SCHEME }, quiet)
    const evader = holders.find((p) => other!.holders.includes(p))!
    const commitment = commitmentToDecimal(poseidonCommitment(retrievalSecret(ownerFileCapabilities(w.master, parseFileId(id)).read.readRoot)))
    federation.nodes.get(evader)!.get(commitment)!.clear()
    federation.evading.add(`${evader} ${commitment}`)
    const round = async (): Promise<Map<string, { healthy?: number, failed: number, repaired: number }>> => new Map((await w.repair.check(undefined, { repair: true })).map((c) => [c.fileId, c]))
    const first = await round()
    assert.equal(first.get(id)!.healthy, 6, 'within repairAfter an unanswered audit says nothing')
    assert.equal(first.get(id)!.repaired, 0)
    w.clock.now += 60_000 + 1
    const later = await round()
    assert.equal(later.get(id)!.repaired, 2, 'the evader\'s shards of the file, rebuilt elsewhere')
    assert.equal(later.get(id)!.healthy, 6)
    assert.equal((await manifestOf(w, id)).holders.flat().includes(evader), false)
    assert.equal(later.get(other!.id)!.repaired, 0, 'the file whose audits it answers keeps it')
    assert.ok((await manifestOf(w, other!.id)).holders.flat().includes(evader))
    assert.equal(w.repair.distrusts(evader), false, 'not caught: as a holder away that long, re-placed')
    await readsBack(w, id, 'after-evasion.bin')
  })

  it('a holder that answers with other bytes than the shard fails its audit', async () => {
    const w = world(8, { auditSample: 3 })
    const { holders } = await put(w)
    const liar = holders[2]!
    for (const chunks of w.federation.nodes.get(liar)!.values()) {
      for (const [chunkId, bytes] of chunks) chunks.set(chunkId, Uint8Array.from(bytes, (b) => b ^ 1))
    }
    const [check] = await w.repair.check(undefined, { repair: false })
    assert.equal(check!.failed, 1)
    assert.ok(w.repair.distrusts(liar))
    assert.ok(!holders.filter((p) => p !== liar).some((p) => w.repair.distrusts(p)), 'honest holders are not blamed')
  })

  it('audits a version 4 file by Merkle leaves: no whole shard is read', async () => {
    const w = world(8, { auditSample: 2 })
    await put(w)
    const gets = w.federation.counts.gets
    const [check] = await w.repair.check(undefined, { repair: false })
    assert.equal(check!.audited, 6 * 2)
    assert.equal(check!.failed, 0)
    // the manifest's pieces are read once (to learn the roots); no shard is
    const [again] = await w.repair.check(undefined, { repair: false })
    assert.equal(again!.audited, 6 * 2)
    assert.ok(w.federation.counts.gets - gets <= 2, `read ${w.federation.counts.gets - gets} pieces whole`)
  })

  it('a holder answering from another shard\'s bytes, or from a truncated shard, fails its audit', async () => {
    const w = world(8, { auditSample: 2 })
    const { holders } = await put(w)
    const [swapper, truncator] = [holders[0]!, holders[3]!]
    for (const chunks of w.federation.nodes.get(swapper)!.values()) {
      const entries = [...chunks]
      if (entries.length === 2) {
        chunks.set(entries[0]![0], entries[1]![1])
        chunks.set(entries[1]![0], entries[0]![1])
      }
    }
    for (const chunks of w.federation.nodes.get(truncator)!.values()) {
      for (const [chunkId, bytes] of chunks) chunks.set(chunkId, bytes.subarray(0, bytes.byteLength - 5000))
    }
    const [check] = await w.repair.check(undefined, { repair: false })
    assert.equal(check!.failed, 2)
    assert.ok(w.repair.distrusts(swapper) && w.repair.distrusts(truncator))
    assert.equal(holders.filter((p) => w.repair.distrusts(p)).length, 2, 'honest holders are not blamed')
  })

  it('a holder refusing audits MALFORMED (an earlier build) is audited by whole reads: kept when it has the data, caught when not', async () => {
    const w = world(8, { auditSample: 1 })
    const { holders } = await put(w)
    const [old, oldAndEmpty] = [holders[0]!, holders[1]!]
    const open = w.federation.openSession.bind(w.federation)
    w.federation.openSession = async (peer, proof, options) => {
      const session = await open(peer, proof, options)
      if (peer !== old && peer !== oldAndEmpty) return session
      return { ...session, audit: async () => { throw new MalformedMessageError('expected a get request') } }
    }
    for (const chunks of w.federation.nodes.get(oldAndEmpty)!.values()) chunks.clear()
    const gets = w.federation.counts.gets
    const [check] = await w.repair.check(undefined, { repair: false })
    assert.equal(check!.failed, 1)
    assert.ok(!w.repair.distrusts(old), 'an old build with the data passes')
    assert.ok(w.repair.distrusts(oldAndEmpty))
    assert.ok(w.federation.counts.gets - gets >= 2, 'both were read whole')
  })

  it('a round repairs the file with the fewest shards to spare first, whatever the catalogue order', async () => {
    // which file each rebuilt stripe's bytes were for, in the order the budget was asked
    const order: string[] = []
    let w: World | undefined
    class RecordingBudget extends RepairBudget {
      override async take (bytes: number, signal?: AbortSignal): Promise<void> {
        order.push(...w!.repair.queue().running)
        return super.take(bytes, signal)
      }
    }
    w = world(8, { concurrency: 1, budget: new RecordingBudget(1e12) })
    const first = join(dir.path, 'first.bin')
    const second = join(dir.path, 'second.bin')
    await writeFile(first, content)
    await writeFile(second, content)
    const [a] = await w.owner.put([first], { kind: 'erasure', scheme: SCHEME }, quiet)
    // the second file avoids two of the first's holders, so the two share four
    const avoided = a!.holders.slice(0, 2)
    for (const peer of avoided) w.federation.reachable.delete(peer)
    const [b] = await w.owner.put([second], { kind: 'erasure', scheme: SCHEME }, quiet)
    for (const peer of avoided) w.federation.reachable.add(peer)
    const onlySecond = b!.holders.find((p) => !a!.holders.includes(p))!
    const shared = b!.holders.find((p) => a!.holders.includes(p))!
    await w.repair.check(undefined, { repair: true })
    // the first file loses one holder (one to spare), the second two (none to spare)
    w.federation.reachable.delete(onlySecond)
    w.federation.reachable.delete(shared)
    w.clock.now += 1000
    await w.repair.check(undefined, { repair: false })
    w.clock.now += 60_000
    order.length = 0
    const checks = await w.repair.check(undefined, { repair: true })
    assert.ok(checks.every((c) => c.repaired > 0 && c.error === undefined), JSON.stringify(checks))
    assert.deepEqual([...new Set(order)], ['second.bin', 'first.bin'])
  })

  it('with no spare node the file stays as it is, degraded, and says so', async () => {
    const w = world(6)
    const { id, holders } = await put(w)
    w.federation.reachable.delete(holders[0]!)
    await w.repair.check(undefined, { repair: true })
    w.clock.now += 61_000
    const [check] = await w.repair.check(undefined, { repair: true })
    assert.equal(check!.repaired, 0)
    assert.equal(check!.healthy, 5)
    assert.equal((await manifestOf(w, id)).revision, 1)
  })

  it('a replicated file: a copy lost with its holder is copied to a new node, byte for byte, and reads back without the old ones', async () => {
    const w = world(6)
    // past a batch's size, so the file has chunks of its own (batched files are not repaired yet)
    const big = randomBytes(BATCH_MAX_BYTES + 1000)
    await writeFile(path, big)
    const [outcome] = await w.owner.put([path], { kind: 'replicas', replicas: 3 }, quiet)
    const id = outcome!.id
    const [first] = await w.repair.check(undefined, { repair: true })
    assert.deepEqual([first!.healthy, first!.needed, first!.total, first!.scheme], [3, 1, 3, '3 copies'])
    const gone = outcome!.holders[0]!
    w.federation.reachable.delete(gone)
    // a round notices it away; one past repairAfter later it is replaced
    const [waiting] = await w.repair.check(undefined, { repair: true })
    assert.deepEqual([waiting!.healthy, waiting!.repaired], [2, 0])
    w.clock.now += 61_000
    const [check] = await w.repair.check(undefined, { repair: true })
    const chunks = (await manifestOf(w, id)).chunks.length
    assert.equal(check!.repaired, chunks)
    assert.equal(check!.healthy, 3)
    const manifest = await manifestOf(w, id)
    assert.equal(manifest.revision, 2)
    for (const holders of manifest.holders) {
      assert.equal(new Set(holders).size, 3)
      assert.ok(!holders.includes(gone))
    }
    for (const peer of outcome!.holders.slice(1)) w.federation.reachable.delete(peer)
    await w.owner.get(id, { cwd: dir.path, output: join(dir.path, 'copied.bin') }, quiet)
    assert.ok((await readFile(join(dir.path, 'copied.bin'))).equals(big))
  })

  it('a replicated file with every copy away spends no repair budget until one returns', async () => {
    const w = world(7)
    await writeFile(path, randomBytes(BATCH_MAX_BYTES + 1000))
    const [outcome] = await w.owner.put([path], { kind: 'replicas', replicas: 3 }, quiet)
    await w.repair.check(undefined, { repair: true })
    for (const peer of outcome!.holders) w.federation.reachable.delete(peer)
    await w.repair.check(undefined, { repair: true })
    w.clock.now += 61_000
    const [check] = await w.repair.check(undefined, { repair: true })
    assert.deepEqual([check!.healthy, check!.repaired], [0, 0])
    assert.equal(w.repair.queue().repairBytes, 0)
    w.federation.reachable.add(outcome!.holders[0]!)
    const [back] = await w.repair.check(undefined, { repair: true })
    assert.equal(back!.healthy, 3)
    assert.ok(w.repair.queue().repairBytes > 0)
  })

  it('the small files of a batch are audited under the batch\'s secret and repaired under its commitments: they read back from the new holders, rm frees the copies, the old holder is cleaned up on return', async () => {
    const w = world(5)
    const tree = join(dir.path, 'notes')
    await mkdir(tree, { recursive: true })
    // over a pack's files' size: batched chunks stored alone (packed files: packed-files.test.ts)
    const contents = Array.from({ length: 5 }, (_, i) => randomBytes(300 * 1024 + i))
    for (let i = 0; i < 5; i++) await writeFile(join(tree, `n${i}.txt`), contents[i]!)
    await w.owner.put([tree], { kind: 'replicas', replicas: 3 }, quiet)
    const batched = (await w.catalogue.load()).entries.filter((e) => e.kind === 'file')
    assert.ok(batched.length === 5 && batched.every((e) => e.batch !== undefined), 'the put made one batch')
    for (const check of await w.repair.check(undefined, { repair: true })) {
      assert.equal(check.error, undefined, check.name)
      assert.ok(check.audited >= 1, `${check.name} was audited`)
      assert.equal(check.failed, 0, `${check.name}: no honest holder fails`)
      assert.equal(check.healthy, 3)
    }
    assert.deepEqual(w.repair.queue().distrusted, [])
    const { audits } = w.repair.queue()
    assert.ok(audits.passed >= 5 && audits.failed === 0, `audits counted for the metrics: ${JSON.stringify(audits)}`)

    const gone = batched[0]!.chunks![0]!.holders[0]!
    w.federation.reachable.delete(gone)
    await w.repair.check(undefined, { repair: true })
    w.clock.now += 61_000
    const repaired = await w.repair.check(undefined, { repair: true })
    assert.ok(repaired.some((c) => c.repaired > 0))
    for (const check of repaired) assert.equal(check.healthy, 3, check.name)
    const after = (await w.catalogue.load()).entries.filter((e) => e.kind === 'file')
    for (const e of after) for (const chunk of e.chunks!) assert.ok(!chunk.holders.includes(gone), `${e.name}'s entry names its new holders`)
    // the reads follow the entry: with the file's other original holders away too, its new copy answers
    const holdersOf = (e: { chunks?: Array<{ holders: string[] }> }): Set<string> => new Set(e.chunks!.flatMap((c) => c.holders))
    const moved = after.find((e) => holdersOf(batched.find((b) => b.fileId === e.fileId)!).has(gone))!
    const before = holdersOf(batched.find((b) => b.fileId === moved.fileId)!)
    const fresh = [...holdersOf(moved)].filter((p) => !before.has(p))
    assert.equal(fresh.length, 1, 'one new holder took the lost copy')
    const away = [...before].filter((p) => p !== gone)
    for (const p of away) w.federation.reachable.delete(p)
    await w.owner.get(moved.name, { cwd: dir.path, output: join(dir.path, 'moved-back') }, quiet)
    const index = Number(moved.name.match(/n(\d)\.txt$/)![1])
    assert.ok((await readFile(join(dir.path, 'moved-back'))).equals(contents[index]!))
    for (const p of away) w.federation.reachable.add(p)
    await w.owner.get('notes', { cwd: dir.path, output: join(dir.path, 'notes-back') }, quiet)
    for (let i = 0; i < 5; i++) assert.ok((await readFile(join(dir.path, 'notes-back', `n${i}.txt`))).equals(contents[i]!))

    // the old holder returns: its replaced copies go (under the batch's delete secret)
    w.federation.reachable.add(gone)
    await w.repair.check(undefined, { repair: true })
    assert.equal(w.repair.queue().deletions, 0)
    const chunksOn = (peer: string): string[] => [...w.federation.nodes.get(peer)!.values()].flatMap((byId) => [...byId.keys()])
    assert.ok(!chunksOn(gone).some((id) => moved.chunks!.some((c) => c.id === id)), 'the returned holder no longer keeps the moved copy')
    // rm frees every copy, the repaired ones too: they were stored under the batch's delete commitment
    await w.owner.remove('notes')
    const left = [...w.federation.nodes.values()].flatMap((byC) => [...byC.values()].flatMap((byId) => [...byId.keys()]))
    const fileChunks = new Set(after.flatMap((e) => e.chunks!.map((c) => c.id)))
    assert.deepEqual(left.filter((id) => fileChunks.has(id)), [])
  })

  it('a repair draws by the operator\'s placement settings, as a put does', async () => {
    // every node in one public /24: the default share (a third) would allow one copy there
    const oneSubnet = new class extends MemoryFederation {
      override async candidates (): Promise<StorageCandidate[]> {
        return [...this.reachable].map((peerId, i) => ({ peerId, freeBytes: 1e9, reachable: true, addresses: [`/ip4/198.51.100.${i + 1}/tcp/1`] }))
      }
    }()
    const w = world(5, {}, { maxSubnetShare: 1 }, oneSubnet)
    // past a batch's size, so the file has chunks of its own
    await writeFile(path, randomBytes(BATCH_MAX_BYTES + 1000))
    const [outcome] = await w.owner.put([path], { kind: 'replicas', replicas: 3 }, quiet)
    assert.equal(outcome!.holders.length, 3, 'the put was let place all three copies in the one subnet')
    await w.repair.check(undefined, { repair: true })
    w.federation.reachable.delete(outcome!.holders[0]!)
    await w.repair.check(undefined, { repair: true })
    w.clock.now += 61_000
    const [check] = await w.repair.check(undefined, { repair: true })
    assert.equal(check!.repaired, (await manifestOf(w, outcome!.id)).chunks.length, 'the repair was held to the default share instead')
  })
})

describe('the durability estimate beside the health (in memory)', () => {
  /** Candidates with the peer book's observed history: first seen `ages` ms ago, always answering. */
  class AgedFederation extends MemoryFederation {
    readonly firstSeen = new Map<string, number>()
    override async candidates (options?: AbortOptions): Promise<StorageCandidate[]> {
      return (await super.candidates(options)).map((c) => this.firstSeen.has(c.peerId) ? { ...c, firstSeen: this.firstSeen.get(c.peerId)!, probes: 1000, successes: 1000 } : c)
    }
  }
  let dir: Awaited<ReturnType<typeof tempDir>>
  after(async () => { await dir?.cleanup() })

  async function putFile (w: World): Promise<{ id: string, holders: string[] }> {
    dir ??= await tempDir()
    const path = join(dir.path, 'estimated.bin')
    await writeFile(path, randomBytes(2 * 1024 * 1024))
    const [outcome] = await w.owner.put([path], { kind: 'erasure', scheme: SCHEME }, quiet)
    await w.repair.check(undefined, { repair: false })
    return { id: outcome!.id, holders: outcome!.holders }
  }

  const timing = { repairAfterMs: 60_000, auditEveryMs: 3_600_000 }

  it('newcomer holders get the prior; the estimate is the model from the health now, and rises when a holder goes', async () => {
    const w = world(8, { auditEveryMs: timing.auditEveryMs })
    const { id, holders } = await putFile(w)
    const entries = (await w.catalogue.load()).entries
    const state = (await w.repair.stateOf(entries)).get(id)!
    assert.deepEqual(state.health, { healthy: 6, needed: 4, total: 6 })
    const rate = Number(DEFAULT_DEPARTURE_PRIOR.rate.toPrecision(2))
    assert.equal(state.durability.lossPerYear, fileLoss({ data: 4, shards: 6, healthy: 6, departureRate: rate }, timing))
    close(state.durability.holderDeparturesPerYear, DEFAULT_DEPARTURE_PRIOR.rate * YEAR_MS, 0.03)
    w.federation.reachable.delete(holders[0]!)
    const degraded = (await w.repair.stateOf(entries)).get(id)!
    assert.equal(degraded.health.healthy, 5)
    assert.ok(degraded.durability.lossPerYear > state.durability.lossPerYear, `${degraded.durability.lossPerYear} against ${state.durability.lossPerYear}`)
    w.federation.reachable.delete(holders[1]!)
    const atK = (await w.repair.stateOf(entries)).get(id)!
    assert.equal(atK.health.healthy, 4)
    assert.ok(atK.durability.lossPerYear > degraded.durability.lossPerYear, `${atK.durability.lossPerYear} against ${degraded.durability.lossPerYear}`)
    w.federation.reachable.delete(holders[2]!)
    assert.equal((await w.repair.stateOf(entries)).get(id)!.durability.lossPerYear, 1, 'below k it cannot be read now')
  })

  it('holders the peer book has watched for years lower it; a file moved onto fresh identities (a Sybil wave) does not look as safe', async () => {
    const federation = new AgedFederation()
    const w = world(8, { auditEveryMs: timing.auditEveryMs }, undefined, federation)
    const { id, holders } = await putFile(w)
    const entries = (await w.catalogue.load()).entries
    const fresh = (await w.repair.stateOf(entries)).get(id)!.durability
    for (const peer of holders) federation.firstSeen.set(peer, w.clock.now - 3 * YEAR_MS)
    const aged = (await w.repair.stateOf(entries)).get(id)!.durability
    assert.ok(aged.holderDeparturesPerYear < fresh.holderDeparturesPerYear / 3, `${aged.holderDeparturesPerYear} against ${fresh.holderDeparturesPerYear}`)
    assert.ok(aged.lossPerYear < fresh.lossPerYear / 10, `${aged.lossPerYear} against ${fresh.lossPerYear}`)
  })

  it('a file whose manifest no round has read has no estimate', async () => {
    const w = world(8)
    dir ??= await tempDir()
    const path = join(dir.path, 'unread.bin')
    await writeFile(path, randomBytes(1000))
    await w.owner.put([path], { kind: 'replicas', replicas: 3 }, quiet)
    assert.equal((await w.repair.stateOf((await w.catalogue.load()).entries)).size, 0)
  })
})

function close (actual: number, expected: number, relative: number): void {
  assert.ok(Math.abs(actual - expected) <= relative * expected, `${actual} against ${expected}`)
}
