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
import { retrievalSecret } from '../src/domain/crypto/key-derivation.ts'
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

  it('renews every piece of the catalogue, the manifests and the data (erasure-coded, copies, a batch) on each holder, in one request per holder and commitment, and nothing it no longer references', async () => {
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
    // one delete session per holder and delete commitment (and the reads of the manifests)
    const deleteSessions = [...federation.counts.sessionOpens].filter(([key]) => key.includes(' delete '))
    assert.ok(deleteSessions.every(([, n]) => n === 1), JSON.stringify(deleteSessions))

    // the next round reads no manifest again: only the delete sessions it renews in
    federation.counts.reset()
    assert.deepEqual(await leases.renew(), round)
    assert.deepEqual(leases.totals(), { renewed: 2 * round.renewed, missing: 0, failed: 0 }, 'what /metrics shows')
    assert.deepEqual([...federation.counts.sessionOpens.keys()].filter((key) => key.includes(' read ')), [])
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
