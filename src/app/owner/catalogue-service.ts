import { catalogueDeleteSecret, catalogueSecret } from '../../domain/crypto/key-derivation.ts'
import { commitmentToDecimal, poseidonCommitment } from '../../domain/proofs/poseidon-commitment.ts'
import { cataloguePieceCodec, emptyCatalogue, newestCatalogue, openCatalogue, sealCatalogue, sealNextGeneration, type Catalogue, type CatalogueEntry } from '../../domain/formats/catalogue.ts'
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
}

/**
 * The owner's catalogue: read from the local cache, else from the federation (after a
 * recovery), and rewritten as a new generation on every change. Each generation is
 * stored on the most spacious live peers before the previous one is deleted, so a
 * crash in between leaves two generations and recovery picks the newer. Changes are
 * serialised; the previous generation is deleted after the lock is released, so `ls`
 * does not wait for delete proofs.
 */
export class CatalogueService {
  private readonly init: CatalogueServiceInit
  private readonly secret: bigint
  private readonly deleteSecret: bigint
  private readonly deleteCommitment: string
  private readonly mutex = new KeyedMutex()
  private current: Catalogue | undefined
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
      if (this.current !== undefined) return this.current
      const cached = await this.init.cache.read(options)
      if (cached === undefined) return undefined
      try {
        this.current = openCatalogue(cached.pieces, this.init.master)
        this.holders = cached.holders
        return this.current
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
        const { catalogue: next, pieces } = sealNextGeneration(previous, change(previous.entries), (this.init.now ?? Date.now)(), this.init.master)
        const candidates = choosePlacement(await this.init.federation.candidates(options),
          { replicas: this.init.replicas, neededBytes: pieces.reduce((n, p) => n + p.byteLength, 0), policy: this.init.placement }).holders
        const placed = await storePieces(sessions, candidates, pieces, this.secret, this.deleteCommitment, this.init.log)
        if (placed.holders.size === 0) throw new CatalogueNotStoredError('no peer could store the new catalogue; the change was not made')
        const stale = this.holders
        this.current = next
        this.holders = Object.fromEntries([...placed.holders.keys()].map((peer) => [peer, placed.ids]))
        await this.init.cache.write({ pieces, holders: this.holders }, options)
        return { next, stale, keep: new Set(placed.ids) }
      })
      if (options?.staleInBackground === true) {
        this.deleteInBackground(stale, keep)
      } else {
        await this.deleteStale(sessions, stale, keep)
      }
      return next
    })
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
    if (this.current !== undefined) return this.current
    const cached = await this.init.cache.read(options)
    if (cached !== undefined) {
      try {
        this.current = openCatalogue(cached.pieces, this.init.master)
        this.holders = cached.holders
        return this.current
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
    const found = newestCatalogue(gathered.pieces, this.init.master)
    // "nothing found" is not remembered: right after a recovery the peers that hold the
    // catalogue may not be discovered yet, and the next call must look again. Nor are the
    // pieces it saw: pieces that open into no generation (one missing on a holder not
    // reached yet, a damaged one) may be the only copy of the file list, and the next
    // update must not delete them as stale
    if (found === undefined) {
      if (gathered.pieces.length > 0) this.init.log.warn(`${gathered.pieces.length} catalogue piece(s) found that open into no whole generation; they are kept`)
      return emptyCatalogue((this.init.now ?? Date.now)())
    }
    this.holders = Object.fromEntries(gathered.holders)
    this.current = found
    this.init.log.info(`catalogue generation ${found.generation} with ${found.entries.length} entries fetched from the federation`)
    await this.init.cache.write({ pieces: sealCatalogue(found, this.init.master), holders: this.holders }, options)
    return found
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
