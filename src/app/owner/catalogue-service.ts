import { catalogueDeleteSecret, catalogueSecret } from '../../domain/crypto/key-derivation.ts'
import { commitmentToDecimal, poseidonCommitment } from '../../domain/proofs/poseidon-commitment.ts'
import { cataloguePieceCodec, emptyCatalogue, type Catalogue, type CatalogueEntry } from '../../domain/formats/catalogue.ts'
import { MAX_DELTA_PIECES, newestChain, openChain, sealBase, sealDelta, type CatalogueChain } from '../../domain/formats/catalogue-chain.ts'
import { DELTA_PARENT_VERSIONS, keptRun } from '../../domain/formats/catalogue-delta.ts'
import { choosePlacement, type PlacementPolicy } from '../../domain/membership/placement.ts'
import { defineError } from '../../errors.ts'
import type { AbortOptions } from '../../ports/abort-options.ts'
import type { CatalogueCache } from '../../ports/catalogue-cache.ts'
import type { FederationClient } from '../../ports/federation-client.ts'
import type { Logger } from '../../ports/logger.ts'
import { KeyedMutex } from '../../util/keyed-mutex.ts'
import { deletePieces, gatherPieces, storePieces } from './federation-pieces.ts'
import { PeerSessions, type SessionOptions } from './peer-sessions.ts'

/** The catalogue could not be read from the cache nor from any peer. */
export const CatalogueUnavailableError = defineError('CatalogueUnavailableError', 'catalogue-unavailable')
/** A new catalogue generation could not be stored on any peer. */
export const CatalogueNotStoredError = defineError('CatalogueNotStoredError', 'catalogue-not-stored')

/**
 * Deltas written over one base before the next change writes a new one. A reader applies
 * each delta with a walk of the whole list, so 32 bound what a recovery does to about
 * 32 walks; the chain is also compacted once its deltas hold more bytes than its base,
 * so a recovery never fetches more than twice one whole catalogue.
 */
export const MAX_CATALOGUE_DELTAS = 32

export interface CatalogueServiceInit {
  master: Uint8Array
  federation: FederationClient
  cache: CatalogueCache
  /** How many peers keep each generation of the catalogue. */
  replicas: number
  /** Overrides of placement's spread caps and weights (the `placement*` settings). */
  placement?: Partial<PlacementPolicy> | undefined
  log: Logger
  now?: () => number
  /** Deltas over one base before a change writes a new base (MAX_CATALOGUE_DELTAS); 0 writes every generation whole. */
  maxDeltas?: number
}

/**
 * The owner's catalogue: read from the local cache, else from the federation (after a
 * recovery), and a new generation on every change. A change is written as a delta over
 * the current chain (catalogue-chain.ts), stored on every holder of that chain, so each
 * holder keeps the chain whole and a change costs what changed, not the whole list.
 * Now and then (MAX_CATALOGUE_DELTAS, the deltas outgrowing their base, a change that
 * removes an entry, a holder of the chain gone or failing) a change
 * writes a new base instead, on the most spacious live peers, before the old chain is
 * deleted: a crash in between leaves both and recovery picks the newer. Changes are serialised; an old chain is deleted after the
 * lock is released, so `ls` does not wait for delete proofs.
 */
export class CatalogueService {
  private readonly init: CatalogueServiceInit
  private readonly secret: bigint
  private readonly deleteSecret: bigint
  private readonly deleteCommitment: string
  private readonly mutex = new KeyedMutex()
  /** The current catalogue's chain (its tip is the current catalogue); undefined before one is stored, cached or fetched. */
  private chain: CatalogueChain | undefined
  /** Set when the holders listed may hold other chains or parts of this one (a fetch): the next change writes a new base. */
  private compactNext = false
  /** Pieces of a delta that no holder took whole, by peer: deleted with the old chain once a new base is stored. */
  private strays: Record<string, string[]> = {}
  private holders: Record<string, string[]> = {}
  private readonly background = new Set<Promise<void>>()

  constructor (init: CatalogueServiceInit) {
    this.init = init
    this.secret = catalogueSecret(init.master)
    this.deleteSecret = catalogueDeleteSecret(init.master)
    this.deleteCommitment = commitmentToDecimal(poseidonCommitment(this.deleteSecret))
  }

  /**
   * Which pieces of the current catalogue generation each holder keeps, as last stored
   * or read (empty before either): what the owner renews the leases of.
   */
  pieceHolders (): Readonly<Record<string, readonly string[]>> {
    return this.holders
  }

  async load (options?: SessionOptions): Promise<Catalogue> {
    return this.mutex.run('catalogue', async () => PeerSessions.using(this.init.federation, options, async (sessions) => this.loadUnlocked(sessions, options)))
  }

  /**
   * The catalogue if this node has it (in memory or in its cache), without asking the
   * federation: for background work that must not prove to every peer each time it
   * looks. Undefined for an owner whose catalogue is not here yet.
   */
  async loaded (options?: AbortOptions): Promise<Catalogue | undefined> {
    return this.mutex.run('catalogue', async () => {
      if (this.chain !== undefined) return this.chain.catalogue
      const cached = await this.init.cache.read(options)
      if (cached === undefined) return undefined
      try {
        return this.adopt(openChain(cached.pieces, this.init.master), cached.holders)
      } catch {
        return undefined
      }
    })
  }

  /**
   * Applies `change` to the current entries and stores the result as the next
   * generation; one call per command, however many files it changes. Resolves once the
   * previous generation's pieces are deleted (failures there are only logged), or, with
   * `staleInBackground`, once the new one is stored: the deletes then prove over their
   * own sessions while the caller goes on. A re-put that changed a few files waited
   * about a second for those delete proofs, most of its time.
   */
  async update (change: (entries: CatalogueEntry[]) => CatalogueEntry[], options?: SessionOptions & { staleInBackground?: boolean }): Promise<Catalogue> {
    return PeerSessions.using(this.init.federation, options, async (sessions) => {
      const { next, stale, keep } = await this.mutex.run('catalogue', async () => {
        const previous = await this.loadUnlocked(sessions, options)
        const entries = change(previous.entries)
        const now = (this.init.now ?? Date.now)()
        // the operation's list (a put read it for its placements already), at most CANDIDATES_TTL_MS old
        const candidates = await sessions.candidates()
        const written = await this.storeDelta(sessions, entries, now, new Set(candidates.map((c) => c.peerId))) ??
          await this.storeBase(sessions, previous, entries, now, candidates)
        this.adopt(written.chain, written.holders)
        await this.init.cache.write({ pieces: written.chain.pieces, holders: this.holders }, options)
        return { next: written.chain.catalogue, stale: written.stale, keep: written.keep }
      })
      if (options?.staleInBackground === true) {
        this.deleteInBackground(stale, keep)
      } else {
        await this.deleteStale(sessions, stale, keep)
      }
      return next
    })
  }

  /**
   * The change as a delta stored on every holder of the chain, when the chain takes one:
   * undefined when a new base is due (no chain yet, an older format, MAX_CATALOGUE_DELTAS,
   * deltas outgrowing the base, a holder gone) or a holder did not store it.
   */
  private async storeDelta (sessions: PeerSessions, entries: CatalogueEntry[], now: number, live: Set<string>): Promise<Written | undefined> {
    const chain = this.chain
    const holders = Object.keys(this.holders)
    if (chain === undefined || !DELTA_PARENT_VERSIONS.includes(chain.catalogue.version) || this.compactNext || chain.deltas >= (this.init.maxDeltas ?? MAX_CATALOGUE_DELTAS)) return undefined
    if (holders.length === 0 || !holders.every((peer) => live.has(peer))) return undefined
    // a change that removes an entry (rm, forget, a rotation's old id): a chain would keep
    // its name and capabilities on the holders, sealed, until some later compaction, and
    // what a user deleted would not be gone from the catalogue's history
    if (removesEntries(chain.catalogue.entries, entries)) return undefined
    const delta = sealDelta(chain, entries, now, this.init.master)
    if (delta.chain.deltaBytes > chain.base.bytes || delta.pieces.length > MAX_DELTA_PIECES) return undefined
    const placed = await storePieces(sessions, holders, delta.pieces, this.secret, this.deleteCommitment, this.init.log)
    if (placed.holders.size < holders.length) {
      // a holder that did not take the delta may hold it in part, so its copy of the chain
      // is no use; dropping it would leave the newest state on fewer holders than
      // `replicas` until some later change (one, after a refusal on each of two). A new
      // base now, and the delta's pieces go with the old chain
      this.strays = Object.fromEntries(holders.map((peer) => [peer, placed.ids]))
      return undefined
    }
    const kept = Object.fromEntries(holders.map((peer) => [peer, [...this.holders[peer]!, ...placed.ids]]))
    return { chain: delta.chain, holders: kept, stale: {}, keep: new Set() }
  }

  /** The change as a new base on fresh placement; the old chain becomes stale. */
  private async storeBase (sessions: PeerSessions, previous: Catalogue, entries: CatalogueEntry[], now: number, candidates: Awaited<ReturnType<FederationClient['candidates']>>): Promise<Written> {
    const chain = sealBase(previous, entries, now, this.init.master)
    const neededBytes = chain.pieces.reduce((n, p) => n + p.byteLength, 0)
    const targets: string[] = []
    let placed: Awaited<ReturnType<typeof storePieces>> = { ids: [], holders: new Map() }
    // a target that refuses (full, or hostile) is replaced by the next candidate: the base
    // is what a recovery finds, and it should be on `replicas` peers when there are that many
    while (placed.holders.size < this.init.replicas) {
      const more = choosePlacement(candidates.filter((c) => !targets.includes(c.peerId)),
        { replicas: this.init.replicas - placed.holders.size, neededBytes, policy: this.init.placement }).holders
      if (more.length === 0) break
      targets.push(...more)
      const round = await storePieces(sessions, more, chain.pieces, this.secret, this.deleteCommitment, this.init.log)
      placed = { ids: round.ids, holders: new Map([...placed.holders, ...round.holders]) }
    }
    if (placed.holders.size === 0) throw new CatalogueNotStoredError('no peer could store the new catalogue; the change was not made')
    const stale: Record<string, string[]> = { ...this.holders }
    // a peer that stored part of the new base (or of a delta before it): what it took goes,
    // so no stray piece of a generation outlives it
    const strays = [...targets.filter((p) => !placed.holders.has(p)).map((peer): [string, string[]] => [peer, placed.ids]), ...Object.entries(this.strays)]
    for (const [peer, ids] of strays) stale[peer] = [...(stale[peer] ?? []), ...ids]
    this.strays = {}
    this.compactNext = false
    return { chain, holders: Object.fromEntries([...placed.holders.keys()].map((peer) => [peer, placed.ids])), stale, keep: new Set(placed.ids) }
  }

  private adopt (chain: CatalogueChain, holders: Record<string, string[]>): Catalogue {
    this.chain = chain
    this.holders = holders
    return chain.catalogue
  }

  /** Resolves once the stale pieces deleted in the background so far are deleted (or failed to be). */
  async settled (): Promise<void> {
    while (this.background.size > 0) await Promise.all(this.background)
  }

  private deleteInBackground (stale: Record<string, string[]>, keep: Set<string>): void {
    const sessions = new PeerSessions(this.init.federation)
    const task = this.deleteStale(sessions, stale, keep)
      .catch((err) => this.init.log.warn(`old catalogue pieces stay for now: ${(err as Error).message}`))
      .finally(async () => {
        await sessions.close()
        this.background.delete(task)
      })
    this.background.add(task)
  }

  private async loadUnlocked (sessions: PeerSessions, options?: AbortOptions): Promise<Catalogue> {
    if (this.chain !== undefined) return this.chain.catalogue
    const cached = await this.init.cache.read(options)
    if (cached !== undefined) {
      try {
        return this.adopt(openChain(cached.pieces, this.init.master), cached.holders)
      } catch (err) {
        this.init.log.warn(`the local catalogue cache does not open (${(err as Error).message}); fetching it from the federation`)
      }
    }
    return this.fetchFromFederation(sessions, options)
  }

  private async fetchFromFederation (sessions: PeerSessions, options?: AbortOptions): Promise<Catalogue> {
    const peers = (await this.init.federation.candidates(options)).map((c) => c.peerId)
    if (peers.length === 0) {
      throw new CatalogueUnavailableError('no federation peer is known yet, so the catalogue cannot be fetched; wait for discovery and retry')
    }
    const codec = cataloguePieceCodec(this.init.master)
    const gathered = await gatherPieces(sessions, peers, this.secret, this.init.log, { keep: (piece) => codec.opens(piece) })
    await sessions.release(this.secret)
    // CatalogueGapError goes to the caller: a newer generation is in sight, and nothing
    // is cached or written over an older one
    const found = newestChain(gathered.pieces, this.init.master)
    // "nothing found" is not remembered: right after a recovery the peers that hold the
    // catalogue may not be discovered yet, and the next call must look again. Nor are the
    // pieces it saw: pieces that open into no generation (one missing on a holder not
    // reached yet, a damaged one) may be the only copy of the file list, and the next
    // update must not delete them as stale
    if (found === undefined) {
      if (gathered.pieces.length > 0) this.init.log.warn(`${gathered.pieces.length} catalogue piece(s) found that open into no whole generation; they are kept`)
      return emptyCatalogue((this.init.now ?? Date.now)())
    }
    this.adopt(found, Object.fromEntries(gathered.holders))
    // the peers listed may hold older chains or parts of this one: the next change writes a new base
    this.compactNext = true
    this.init.log.info(`catalogue generation ${found.catalogue.generation} (${found.deltas} deltas over its base) with ${found.catalogue.entries.length} entries fetched from the federation`)
    await this.init.cache.write({ pieces: found.pieces, holders: this.holders }, options)
    return found.catalogue
  }

  /** Deletes catalogue pieces other than the current ones; failures only delay cleanup. */
  private async deleteStale (sessions: PeerSessions, holders: Record<string, string[]>, keep: Set<string>): Promise<void> {
    await Promise.all(Object.entries(holders).map(async ([peer, ids]) => {
      const stale = ids.filter((id) => !keep.has(id))
      await deletePieces(sessions, peer, stale, this.deleteSecret)
        .catch((err) => this.init.log.warn(`old catalogue pieces on ${peer} stay for now: ${(err as Error).message}`))
    }))
    await sessions.release(this.deleteSecret)
  }
}

/** What one change stored: the new chain, who holds it whole, and what is stale now. */
interface Written {
  chain: CatalogueChain
  holders: Record<string, string[]>
  stale: Record<string, string[]>
  keep: Set<string>
}

/** Whether `next` lacks an entry of `previous` (by file id and kind): a removal, not an addition or a move between versions. */
function removesEntries (previous: readonly CatalogueEntry[], next: readonly CatalogueEntry[]): boolean {
  // a put appends to the previous entries, kept first as they were: one walk, no set
  if (keptRun(previous, next) === previous.length) return false
  // else told by identity, without a key per entry of every version
  const same = new Set<CatalogueEntry>(next)
  if (previous.every((e) => same.has(e))) return false
  const kept = new Set(next.map((e) => `${e.kind} ${e.fileId}`))
  return previous.some((e) => !kept.has(`${e.kind} ${e.fileId}`))
}
