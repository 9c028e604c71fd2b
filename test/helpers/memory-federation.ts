import { chunkIdMatches, parseChunkId } from '../../src/domain/formats/chunk-id.ts'
import { ChunkIdMismatchError, ConnectionLostError, InvalidReceiptError, MalformedMessageError, PeerUnreachableError } from '../../src/domain/protocol/federation-errors.ts'
import { commitmentFromDecimal, commitmentToDecimal, poseidonCommitment } from '../../src/domain/proofs/poseidon-commitment.ts'
import { ClosedError, NotFoundError, throwIfAborted, UnauthorizedError } from '../../src/errors.ts'
import type { AbortOptions } from '../../src/ports/abort-options.ts'
import type { CachedCatalogue, CatalogueCache } from '../../src/ports/catalogue-cache.ts'
import type { FederationClient, ProvenSession, StorageCandidate, StoreChannel } from '../../src/ports/federation-client.ts'
import { auditProofOf, checkAuditLeaves } from '../../src/adapters/libp2p/protocols/session-audit.ts'

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
 * kept per peer under their read commitment C, each with its delete commitment D, and
 * a session only sees what its secret's commitment names (what a verified proof
 * grants): a read session the records under C, a delete session those under D.
 * It keeps the port's contract (test/conformance/federation-client.suite.ts) except
 * what needs a prover: every secret proves, so InvalidProofError never happens.
 * A peer taken out of `reachable` is unreachable to new dials, and streams already
 * open to it are lost.
 */
export class MemoryFederation implements FederationClient {
  /** peer -> commitment -> chunk id -> bytes */
  readonly nodes = new Map<string, Map<string, Map<string, Uint8Array>>>()
  /**
   * peer -> commitment -> chunk id -> delete commitment. A record absent here (put into
   * `nodes` by a test) deletes with D = C, as a node reads records from before v2.
   */
  readonly deleteCommitments = new Map<string, Map<string, Map<string, string>>>()
  reachable = new Set<string>()
  readonly counts = new FederationCounts()
  /** peer -> `D chunkId` of every record a renewal reached (protocol-spec/leases.md). */
  readonly renewed = new Map<string, Set<string>>()
  /** peer -> `C chunkId` -> the record's lease commitment L, where it has one. */
  readonly leaseCommitments = new Map<string, Map<string, string>>()
  /** Peers that behave as nodes from before lease commitments: they keep no L and renew under D only. */
  readonly beforeLeaseCommitments = new Set<string>()

  addPeer (peerId: string): void {
    this.nodes.set(peerId, new Map())
    this.reachable.add(peerId)
  }

  /** Every record the storage nodes (or only `peers`) hold, as `peer chunkId`. */
  records (peers?: string[]): Set<string> {
    const held = new Set<string>()
    for (const [peer, node] of this.nodes) {
      if (peers !== undefined && !peers.includes(peer)) continue
      for (const chunks of node.values()) for (const id of chunks.keys()) held.add(`${peer} ${id}`)
    }
    return held
  }

  async candidates (options?: AbortOptions): Promise<StorageCandidate[]> {
    throwIfAborted(options?.signal)
    return [...this.reachable].map((peerId) => ({ peerId, freeBytes: 1e9, reachable: true }))
  }

  async openStore (peerId: string, options?: AbortOptions): Promise<StoreChannel> {
    throwIfAborted(options?.signal)
    bump(this.counts.storeOpens, peerId)
    const node = this.node(peerId)
    const call = this.calls(peerId, options?.signal)
    return {
      store: async ({ chunkId, commitment, deleteCommitment, leaseCommitment, data }, callOptions) => {
        call.check(callOptions)
        // what a storage node checks, in its order (StorageService.store)
        try {
          parseChunkId(chunkId)
          commitmentFromDecimal(commitment)
          commitmentFromDecimal(deleteCommitment)
        } catch (err) {
          throw new MalformedMessageError((err as Error).message, { cause: err })
        }
        if (!chunkIdMatches(chunkId, data)) throw new ChunkIdMismatchError(`chunk id ${chunkId} is not the hash of the data sent`)
        if (!node.has(commitment)) node.set(commitment, new Map())
        const held = this.deleteCommitmentOf(peerId, commitment, chunkId)
        // a record keeps its first D; the node's receipt names it and the client refuses it
        if (held !== undefined && held !== deleteCommitment) throw new InvalidReceiptError(`${peerId} holds ${chunkId} under another delete commitment`)
        node.get(commitment)!.set(chunkId, Uint8Array.from(data))
        if (held === undefined) this.setDeleteCommitment(peerId, commitment, chunkId, deleteCommitment)
        // a record keeps the L it was created with, as it keeps its D
        if (held === undefined && leaseCommitment !== undefined) this.setLeaseCommitment(peerId, commitment, chunkId, leaseCommitment)
        return { peerId, chunkId, timeMs: Date.now(), signature: Buffer.alloc(64, 7).toString('base64') }
      },
      close: async () => call.close()
    }
  }

  async openSession (peerId: string, proof: { action: 'read' | 'delete', secret: bigint }, options?: AbortOptions): Promise<ProvenSession> {
    throwIfAborted(options?.signal)
    const commitment = commitmentToDecimal(poseidonCommitment(proof.secret))
    bump(this.counts.sessionOpens, `${peerId} ${proof.action} ${commitment}`)
    const node = this.node(peerId) // an unreachable peer fails the dial, as a real one does
    const held = () => node.get(commitment) ?? new Map<string, Uint8Array>()
    const call = this.calls(peerId, options?.signal)
    const needs = (action: 'read' | 'delete', callOptions?: AbortOptions) => {
      call.check(callOptions)
      if (proof.action !== action) throw new UnauthorizedError(`this session was opened for ${proof.action}`)
    }
    return {
      get: async (chunkId, callOptions) => {
        needs('read', callOptions)
        this.counts.gets++
        const bytes = held().get(chunkId)
        if (bytes === undefined) throw new NotFoundError(`no ${chunkId}`)
        return bytes
      },
      audit: async (chunkId, leaves, callOptions) => {
        needs('read', callOptions)
        const bytes = held().get(chunkId)
        if (bytes === undefined) throw new NotFoundError(`no ${chunkId}`)
        // what a storage node answers (session-audit.ts), from the bytes it holds now
        return auditProofOf(chunkId, bytes, checkAuditLeaves(leaves))
      },
      list: async (callOptions) => {
        needs('read', callOptions)
        this.counts.lists++
        return [...held().keys()].sort()
      },
      delete: async (chunkId, callOptions) => {
        needs('delete', callOptions)
        // a delete session's commitment is D: every record of the chunk under it goes
        const doomed = [...node].filter(([c, chunks]) => chunks.has(chunkId) && this.deleteCommitmentOf(peerId, c, chunkId) === commitment)
        if (doomed.length === 0) throw new NotFoundError(`no ${chunkId}`)
        for (const [c, chunks] of doomed) {
          chunks.delete(chunkId)
          this.deleteCommitments.get(peerId)?.get(c)?.delete(chunkId)
          this.leaseCommitments.get(peerId)?.delete(`${c} ${chunkId}`)
        }
        // the bytes stay while another owner's commitment still holds the same chunk
        return { bytesRemoved: ![...node.values()].some((chunks) => chunks.has(chunkId)) }
      },
      renew: async (chunkIds, callOptions) => {
        needs('delete', callOptions)
        // as a storage node renews (StorageService.renew): the records of each chunk under
        // the session's D or L, those under D taking the L asked for
        const keepsL = !this.beforeLeaseCommitments.has(peerId)
        const leases = this.leaseCommitments.get(peerId)
        const renewed = this.renewed.get(peerId) ?? new Set<string>()
        this.renewed.set(peerId, renewed)
        const missing: string[] = []
        for (const id of chunkIds) {
          let found = false
          for (const [c, chunks] of node) {
            if (!chunks.has(id)) continue
            const d = this.deleteCommitmentOf(peerId, c, id)!
            const underD = d === commitment
            if (!underD && !(keepsL && leases?.get(`${c} ${id}`) === commitment)) continue
            found = true
            renewed.add(`${d} ${id}`)
            if (underD && keepsL && callOptions?.lease !== undefined) this.setLeaseCommitment(peerId, c, id, callOptions.lease)
          }
          if (!found) missing.push(id)
        }
        return { expiresAt: Date.now(), missing, leaseCommitments: keepsL }
      },
      close: async () => call.close()
    }
  }

  /** The D of the record (peer, C, chunk): undefined when there is no record, C when a test put it without one. */
  private deleteCommitmentOf (peerId: string, commitment: string, chunkId: string): string | undefined {
    if (this.nodes.get(peerId)?.get(commitment)?.has(chunkId) !== true) return undefined
    return this.deleteCommitments.get(peerId)?.get(commitment)?.get(chunkId) ?? commitment
  }

  private setDeleteCommitment (peerId: string, commitment: string, chunkId: string, deleteCommitment: string): void {
    const byCommitment = this.deleteCommitments.get(peerId) ?? new Map<string, Map<string, string>>()
    this.deleteCommitments.set(peerId, byCommitment)
    const byChunk = byCommitment.get(commitment) ?? new Map<string, string>()
    byCommitment.set(commitment, byChunk)
    byChunk.set(chunkId, deleteCommitment)
  }

  private setLeaseCommitment (peerId: string, commitment: string, chunkId: string, leaseCommitment: string): void {
    if (this.beforeLeaseCommitments.has(peerId)) return
    const leases = this.leaseCommitments.get(peerId) ?? new Map<string, string>()
    this.leaseCommitments.set(peerId, leases)
    leases.set(`${commitment} ${chunkId}`, leaseCommitment)
  }

  private node (peerId: string): Map<string, Map<string, Uint8Array>> {
    const node = this.nodes.get(peerId)
    if (node === undefined || !this.reachable.has(peerId)) throw new PeerUnreachableError(`${peerId} is unreachable`)
    return node
  }

  /** The state every open stream keeps: closed, aborted with its opener's signal, or lost with its peer. */
  private calls (peerId: string, channelSignal: AbortSignal | undefined) {
    let closed = false
    return {
      check: (options?: AbortOptions) => {
        if (closed) throw new ClosedError(`the stream to ${peerId} is closed`)
        throwIfAborted(options?.signal)
        throwIfAborted(channelSignal)
        if (!this.reachable.has(peerId)) throw new ConnectionLostError(`${peerId} went away`)
      },
      close: () => { closed = true }
    }
  }
}

/**
 * A CatalogueCache in memory, for tests (the daemon always has a data directory, so
 * no production path wants it); it passes the same suite as FileCatalogueCache.
 */
export class MemoryCache implements CatalogueCache {
  value: CachedCatalogue | undefined
  async read (options?: AbortOptions): Promise<CachedCatalogue | undefined> {
    throwIfAborted(options?.signal)
    return this.value === undefined ? undefined : structuredClone(this.value)
  }

  async write (value: CachedCatalogue, options?: AbortOptions): Promise<void> {
    throwIfAborted(options?.signal)
    this.value = structuredClone(value)
  }
}
