import { chunkIdMatches } from '../../src/domain/formats/chunk-id.ts'
import { commitmentToDecimal, poseidonCommitment } from '../../src/domain/proofs/poseidon-commitment.ts'
import { NotFoundError } from '../../src/errors.ts'
import type { CachedCatalogue, CatalogueCache } from '../../src/ports/catalogue-cache.ts'
import type { FederationClient, ProvenSession, StorageCandidate, StoreChannel } from '../../src/ports/federation-client.ts'

/** What an owner operation cost in network terms: every dial and every proof it asked for. */
export class FederationCounts {
  /** openStore calls, per peer. */
  readonly storeOpens = new Map<string, number>()
  /** openSession calls (each one a Groth16 proof on a real federation), per `peer action commitment`. */
  readonly sessionOpens = new Map<string, number>()
  lists = 0
  gets = 0

  get stores (): number { return sum(this.storeOpens) }
  get proofs (): number { return sum(this.sessionOpens) }
  /** Dials: store streams and proven sessions opened. */
  get dials (): number { return this.stores + this.proofs }

  reset (): void {
    this.storeOpens.clear()
    this.sessionOpens.clear()
    this.lists = 0
    this.gets = 0
  }
}

function sum (counts: Map<string, number>): number {
  return [...counts.values()].reduce((a, b) => a + b, 0)
}

function bump (counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1)
}

/**
 * A FederationClient over in-memory storage nodes, for owner-side tests: chunks are
 * kept per peer under their commitment, and a session only sees what is stored under
 * the commitment of the secret it was opened with (what a verified proof grants).
 */
export class MemoryFederation implements FederationClient {
  /** peer -> commitment -> chunk id -> bytes */
  readonly nodes = new Map<string, Map<string, Map<string, Uint8Array>>>()
  reachable = new Set<string>()
  readonly counts = new FederationCounts()

  addPeer (peerId: string): void {
    this.nodes.set(peerId, new Map())
    this.reachable.add(peerId)
  }

  async candidates (): Promise<StorageCandidate[]> {
    return [...this.reachable].map((peerId) => ({ peerId, freeBytes: 1e9, reachable: true }))
  }

  async openStore (peerId: string): Promise<StoreChannel> {
    bump(this.counts.storeOpens, peerId)
    const node = this.node(peerId)
    return {
      store: async ({ chunkId, commitment, data }) => {
        if (!chunkIdMatches(chunkId, data)) throw new Error('id mismatch')
        if (!node.has(commitment)) node.set(commitment, new Map())
        node.get(commitment)!.set(chunkId, Uint8Array.from(data))
        return { peerId, chunkId, timeMs: Date.now(), signature: Buffer.alloc(64, 7).toString('base64') }
      },
      close: async () => {}
    }
  }

  async openSession (peerId: string, proof: { action: 'read' | 'delete', secret: bigint }): Promise<ProvenSession> {
    const commitment = commitmentToDecimal(poseidonCommitment(proof.secret))
    bump(this.counts.sessionOpens, `${peerId} ${proof.action} ${commitment}`)
    this.node(peerId) // an unreachable peer fails the dial, as a real one does
    const held = () => this.node(peerId).get(commitment) ?? new Map<string, Uint8Array>()
    return {
      get: async (chunkId) => {
        this.counts.gets++
        const bytes = held().get(chunkId)
        if (bytes === undefined) throw new NotFoundError(`no ${chunkId}`)
        return bytes
      },
      list: async () => {
        this.counts.lists++
        return [...held().keys()].sort()
      },
      delete: async (chunkId) => {
        if (!held().delete(chunkId)) throw new NotFoundError(`no ${chunkId}`)
        return { bytesRemoved: true }
      },
      close: async () => {}
    }
  }

  private node (peerId: string): Map<string, Map<string, Uint8Array>> {
    const node = this.nodes.get(peerId)
    if (node === undefined || !this.reachable.has(peerId)) throw new Error(`${peerId} is unreachable`)
    return node
  }
}

/** A CatalogueCache in memory. */
export class MemoryCache implements CatalogueCache {
  value: CachedCatalogue | undefined
  async read (): Promise<CachedCatalogue | undefined> { return this.value }
  async write (value: CachedCatalogue): Promise<void> { this.value = value }
}
