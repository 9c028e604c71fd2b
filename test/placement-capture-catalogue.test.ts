import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { silentLoggerFactory } from '../src/adapters/logging/stderr-logger.ts'
import { CatalogueService } from '../src/app/owner/catalogue-service.ts'
import { catalogueSecret } from '../src/domain/crypto/key-derivation.ts'
import { commitmentToDecimal, poseidonCommitment } from '../src/domain/proofs/poseidon-commitment.ts'
import type { AbortOptions } from '../src/ports/abort-options.ts'
import type { StorageCandidate } from '../src/ports/federation-client.ts'
import { MemoryCache, MemoryFederation } from './helpers/memory-federation.ts'

const DAY = 24 * 60 * 60_000

/** Five fresh ids in one /24 announcing 8 PB each, and six established honest peers with 1 TB. */
class CapturedFederation extends MemoryFederation {
  override async candidates (options?: AbortOptions): Promise<StorageCandidate[]> {
    return (await super.candidates(options)).map((c, i) => c.peerId.startsWith('sybil')
      ? { ...c, freeBytes: 8e15, firstSeen: Date.now() - 60_000, probes: 1, successes: 1, addresses: [`/ip4/203.0.113.${i}/tcp/4101`] }
      : { ...c, freeBytes: 1e12, firstSeen: Date.now() - 30 * DAY, probes: 500, successes: 499, addresses: [`/ip4/198.51.${i}.1/tcp/4101`] })
  }
}

describe('placement capture: the catalogue', () => {
  it('five peers announcing the most space no longer get the catalogue: at most the subnet cap of its copies', async () => {
    const master = randomBytes(32)
    const federation = new CapturedFederation()
    for (let i = 0; i < 5; i++) federation.addPeer(`sybil${i}`)
    for (let i = 0; i < 6; i++) federation.addPeer(`honest${i}`)
    const service = new CatalogueService({ master, federation, cache: new MemoryCache(), replicas: 5, log: silentLoggerFactory('test') })
    const commitment = commitmentToDecimal(poseidonCommitment(catalogueSecret(master)))
    for (let generation = 1; generation <= 10; generation++) {
      await service.update((entries) => entries)
      const holders = [...federation.nodes].filter(([, node]) => (node.get(commitment)?.size ?? 0) > 0).map(([peer]) => peer)
      assert.equal(holders.length, 5, `generation ${generation}: five holders`)
      // before, the top five by announced free space: all five sybils
      assert.ok(holders.filter((p) => p.startsWith('sybil')).length <= 1, `generation ${generation}: ${holders.join(' ')}`)
    }
  })
})
