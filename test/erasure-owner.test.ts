import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { copyFile, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { ReedSolomonCodec } from '../src/adapters/erasure/reed-solomon-codec.ts'
import { silentLoggerFactory } from '../src/adapters/logging/stderr-logger.ts'
import { CatalogueService } from '../src/app/owner/catalogue-service.ts'
import { fetchFile, FileUnavailableError } from '../src/app/owner/fetch-file.ts'
import { OwnerService } from '../src/app/owner/owner-service.ts'
import { NoStorageNodesError, putFile } from '../src/app/owner/put-file.ts'
import { ownerFileCapabilities } from '../src/domain/capabilities/file-capabilities.ts'
import { parseFileId } from '../src/domain/formats/file-id.ts'
import type { CatalogueEntry } from '../src/domain/formats/catalogue.ts'
import { ShardPlacementError } from '../src/domain/membership/placement.ts'
import type { FederationClient } from '../src/ports/federation-client.ts'
import { UnsupportedErasureSchemeError } from '../src/domain/formats/stripe-errors.ts'
import { MemoryCache, MemoryFederation } from './helpers/memory-federation.ts'
import { fakePeerId } from './helpers/owner-fixtures.ts'
import { rejectsWith } from './helpers/rejects-with.ts'
import { tempDir } from './helpers/temp-dir.ts'

const quiet = (): void => {}
const codec = new ReedSolomonCodec()

function ownerOn (federation: MemoryFederation, master: Uint8Array): OwnerService {
  const log = silentLoggerFactory('test')
  const deps = { master, federation, log, codec }
  return new OwnerService(deps, new CatalogueService({ ...deps, cache: new MemoryCache(), replicas: 3 }))
}

/** Every (peer, chunk id) the federation holds, with the bytes. */
function held (federation: MemoryFederation): Array<{ peer: string, id: string, bytes: Uint8Array }> {
  return [...federation.nodes].flatMap(([peer, byCommitment]) => [...byCommitment.values()].flatMap((chunks) => [...chunks].map(([id, bytes]) => ({ peer, id, bytes }))))
}

describe('erasure-coded put and get over an in-memory federation', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  const federation = new MemoryFederation()
  const master = randomBytes(32)
  let owner: OwnerService
  const peers = Array.from({ length: 8 }, fakePeerId)
  // 4+2 with 1 MiB shards: three stripes, the last one short
  const content = randomBytes(2 * 4 * 1024 * 1024 + 777_777)

  before(async () => {
    dir = await tempDir()
    for (const peer of peers) federation.addPeer(peer)
    owner = ownerOn(federation, master)
    await writeFile(join(dir.path, 'big.bin'), content)
    await writeFile(join(dir.path, 'small.txt'), 'a few bytes')
    await writeFile(join(dir.path, 'empty'), '')
  })
  after(async () => { await dir.cleanup() })

  it('puts 4+2 on six distinct nodes, one shard of each stripe per node, and reads it back with any two of them gone', async () => {
    const [outcome] = await owner.put([join(dir.path, 'big.bin')], { kind: 'erasure', scheme: { data: 4, parity: 2 } }, quiet)
    assert.equal(outcome!.scheme, '4+2')
    assert.equal(outcome!.underReplicated, false)
    assert.equal(outcome!.holders.length, 6)
    const { manifest } = await readBack('big.bin', 'whole.bin')
    assert.equal(manifest.version, 4, 'written as version 4: version 3 with a Merkle root per shard')
    assert.equal(manifest.roots?.length, manifest.chunks.length)
    assert.deepEqual(manifest.erasure, { data: 4, parity: 2 })
    assert.equal(manifest.chunks.length, 3 * 6)
    for (let s = 0; s < 3; s++) {
      const stripe = manifest.holders.slice(s * 6, (s + 1) * 6).map((h) => { assert.equal(h.length, 1); return h[0]! })
      assert.equal(new Set(stripe).size, 6, `stripe ${s}: never two shards on one node`)
    }
    const holders = outcome!.holders
    for (let a = 0; a < holders.length; a++) {
      for (let b = a + 1; b < holders.length; b++) {
        federation.reachable.delete(holders[a]!)
        federation.reachable.delete(holders[b]!)
        try {
          await readBack('big.bin', `without-${a}-${b}.bin`)
        } finally {
          federation.reachable.add(holders[a]!)
          federation.reachable.add(holders[b]!)
        }
      }
    }
  })

  it('with three of six holders gone the get fails typed, and leaves no partial file', async () => {
    const entry = (await owner.list()).find((e) => e.name === 'big.bin')!
    const manifestHolders = entry.manifest![0]!.holders
    for (const peer of manifestHolders.slice(0, 3)) federation.reachable.delete(peer)
    try {
      await rejectsWith(owner.get('big.bin', { output: join(dir.path, 'never.bin'), cwd: dir.path }, quiet), FileUnavailableError)
    } finally {
      for (const peer of manifestHolders.slice(0, 3)) federation.reachable.add(peer)
    }
    await assert.rejects(readFile(join(dir.path, 'never.bin')), { code: 'ENOENT' })
  })

  it('a holder answering with shards of other places is outvoted: every shard is opened at its place before it is decoded', async () => {
    const { manifest } = await readBack('big.bin', 'before-swap.bin')
    // the holder of the first data shard hands out its shards rotated (each valid sealed
    // data, at the wrong place), and another holder is down: the get has exactly k honest shards
    const liar = manifest.holders[0]![0]!
    const down = manifest.holders[1]![0]!
    const ids = manifest.chunks.filter((_, i) => manifest.holders[i]![0] === liar).map((c) => c.id)
    const store = [...federation.nodes.get(liar)!.values()].find((m) => m.has(ids[0]!))!
    const originals = ids.map((id) => store.get(id)!)
    ids.forEach((id, i) => store.set(id, originals[(i + 1) % ids.length]!))
    federation.reachable.delete(down)
    const gets = federation.counts.gets
    try {
      await readBack('big.bin', 'swapped.bin')
      assert.ok(federation.counts.gets - gets >= 3 * 4, 'every stripe asked for shards')
    } finally {
      ids.forEach((id, i) => store.set(id, originals[i]!))
      federation.reachable.add(down)
    }
  })

  it('long-tail cut: a holder that never answers is asked, and the get completes from the first k without it', async () => {
    const { manifest } = await readBack('big.bin', 'before-stall.bin')
    const entry = (await owner.list()).find((e) => e.name === 'big.bin')!
    const fileId = parseFileId(entry.fileId)
    const stalled = manifest.holders[0]![0]!
    let resolveRelease = (): void => {}
    const released = new Promise<void>((resolve) => { resolveRelease = resolve })
    let asked = 0
    const slow: FederationClient = {
      candidates: async (o) => federation.candidates(o),
      openStore: async (peer, o) => federation.openStore(peer, o),
      openSession: async (peer, proof, o) => {
        const session = await federation.openSession(peer, proof, o)
        if (peer !== stalled) return session
        return {
          ...session,
          get: async (id, options) => {
            // the manifest pieces come through; the shards hang until the test ends
            if (!manifest.chunks.some((c) => c.id === id)) return session.get(id, options)
            asked++
            await released
            return session.get(id, options)
          }
        }
      }
    }
    try {
      await fetchFile(slow, silentLoggerFactory('test'), { fileId, read: ownerFileCapabilities(master, fileId).read, manifest: entry.manifest!, output: join(dir.path, 'stalled.bin'), codec })
      assert.ok((await readFile(join(dir.path, 'stalled.bin'))).equals(content))
      assert.ok(asked >= 1, 'the stalled holder was asked: the stripe did not wait for it')
    } finally {
      resolveRelease()
    }
  })

  it('small and empty files: one stripe of small shards, none', async () => {
    await owner.put([join(dir.path, 'small.txt'), join(dir.path, 'empty')], { kind: 'erasure', scheme: { data: 3, parity: 3 } }, quiet)
    const small = await readBack('small.txt', 'small.back')
    assert.equal(small.manifest.chunkSize, 8, 'a shard of an 11-byte file in 3 is 8 bytes')
    assert.equal(small.manifest.chunks.length, 6)
    const empty = await readBack('empty', 'empty.back')
    assert.equal(empty.manifest.chunks.length, 0)
  })

  it('a scheme wider than the federation is refused before any byte is stored', async () => {
    const before = held(federation).length
    await rejectsWith(owner.put([join(dir.path, 'small.txt')], { kind: 'erasure', scheme: { data: 6, parity: 3 } }, quiet), ShardPlacementError)
    assert.equal(held(federation).length, before)
  })

  it('a scheme beyond the codec is refused before any byte is stored', async () => {
    const before = held(federation).length
    await rejectsWith(owner.put([join(dir.path, 'small.txt')], { kind: 'erasure', scheme: { data: 2, parity: 7 } }, quiet), UnsupportedErasureSchemeError)
    assert.equal(held(federation).length, before)
  })

  it('auto: 8 nodes give 4+4, files under 1 MiB 3 copies; replicated files put by number still read', async () => {
    // names not put before: a put of an unchanged file of a stored name keeps it (versions)
    await copyFile(join(dir.path, 'big.bin'), join(dir.path, 'big-auto.bin'))
    await copyFile(join(dir.path, 'small.txt'), join(dir.path, 'small-auto.txt'))
    const [auto, small] = await owner.put([join(dir.path, 'big-auto.bin'), join(dir.path, 'small-auto.txt')], undefined, quiet)
    assert.equal(auto!.scheme, '4+4')
    assert.equal(small!.scheme, 'replicas:3')
    await owner.remove(auto!.id)
    const [copies] = await owner.put([join(dir.path, 'small.txt')], 3, quiet)
    assert.equal(copies!.scheme, 'replicas:3')
    await owner.get(copies!.id, { output: join(dir.path, 'copies.back'), cwd: dir.path }, quiet)
    assert.equal(await readFile(join(dir.path, 'copies.back'), 'utf8'), 'a few bytes')
  })

  it('auto: when the live peers cannot take the shards (all in one /24), the file is stored as copies instead of failing', async () => {
    const oneSubnet: FederationClient = {
      candidates: async (o) => (await federation.candidates(o)).map((c, i) => ({ ...c, addresses: [`/ip4/203.0.113.${i + 1}/tcp/4101`] })),
      openStore: async (peer, o) => federation.openStore(peer, o),
      openSession: async (peer, proof, o) => federation.openSession(peer, proof, o)
    }
    const log = silentLoggerFactory('test')
    const deps = { master, federation: oneSubnet, log, codec }
    const crowded = new OwnerService(deps, new CatalogueService({ ...deps, cache: new MemoryCache(), replicas: 3 }))
    await copyFile(join(dir.path, 'big.bin'), join(dir.path, 'big-crowded.bin'))
    const [outcome] = await crowded.put([join(dir.path, 'big-crowded.bin')], undefined, quiet)
    assert.equal(outcome!.scheme, 'replicas:3')
    // a scheme asked for by name is not swapped for another
    await rejectsWith(crowded.put([join(dir.path, 'small.txt')], { kind: 'erasure', scheme: { data: 4, parity: 4 } }, quiet), ShardPlacementError)
  })

  it('a holder lost mid-put leaves its slot empty: the file is degraded, flagged, and still reads; more than m lost fails the put', async () => {
    const log = silentLoggerFactory('test')
    const path = join(dir.path, 'big.bin')
    const lose = async (count: number) => {
      const lost: string[] = []
      let stripes = 0
      federation.counts.reset()
      const result = putFile({ master, federation, log, codec }, {
        path, name: 'big.bin', size: content.byteLength, mode: 0o644, mtimeMs: 0, replicas: 6, erasure: { data: 4, parity: 2 },
        // after the first stripe, `count` of its holders go away for the rest of the put
        onProgress: () => {
          if (++stripes !== 1) return
          // the peers this put opened store streams to are its holders
          for (const peer of [...federation.counts.storeOpens.keys()].slice(0, count)) { federation.reachable.delete(peer); lost.push(peer) }
          assert.equal(lost.length, count)
        }
      })
      try {
        return await result
      } finally {
        for (const peer of lost) federation.reachable.add(peer)
      }
    }
    const degraded = await lose(1)
    assert.equal(degraded.underReplicated, true)
    const fileId = parseFileId(degraded.entry.fileId)
    const manifest = await fetchFile(federation, log, { fileId, read: ownerFileCapabilities(master, fileId).read, manifest: degraded.entry.manifest!, output: join(dir.path, 'degraded.bin'), codec })
    assert.ok((await readFile(join(dir.path, 'degraded.bin'))).equals(content))
    assert.ok(manifest.holders.some((h) => h.length === 0), 'the lost slot is recorded as empty, for repair')
    await rejectsWith(lose(3), NoStorageNodesError)
  })

  it('unshare rotates an erasure-coded file into a new one of the same scheme, and the old shards are gone', async () => {
    await owner.share('big.bin')
    const before = newest(await owner.list(), 'big.bin')
    const old = new Set((await readBack('big.bin', 'unrotated.bin')).manifest.chunks.map((c) => c.id))
    const revocation = await owner.unshare('big.bin')
    assert.equal(revocation.previousFileId, before.fileId)
    const { manifest } = await readBack('big.bin', 'rotated.bin')
    assert.equal(manifest.fileId, revocation.fileId)
    assert.deepEqual(manifest.erasure, { data: 4, parity: 2 })
    assert.deepEqual(held(federation).filter((h) => old.has(h.id)), [], 'no holder keeps a shard of the old copy')
  })

  async function readBack (name: string, output: string) {
    const entry = newest(await owner.list(), name)
    const fileId = parseFileId(entry.fileId)
    const manifest = await fetchFile(federation, silentLoggerFactory('test'), {
      fileId, read: ownerFileCapabilities(master, fileId).read, manifest: entry.manifest!, output: join(dir.path, output), codec
    })
    const original = await readFile(join(dir.path, name))
    assert.ok((await readFile(join(dir.path, output))).equals(original), `${output} is ${name}, byte for byte`)
    return { manifest }
  }
})

/** The newest version's entry of `name` (a name put several times has several). */
function newest (entries: CatalogueEntry[], name: string): CatalogueEntry {
  return entries.filter((e) => e.name === name).sort((a, b) => (b.version ?? 1) - (a.version ?? 1))[0]!
}
