import { ExpiredError, ProtocolError } from '../../domain/protocol/federation-errors.ts'
import { commitmentToDecimal, poseidonCommitment } from '../../domain/proofs/poseidon-commitment.ts'
import type { ProofAction } from '../../domain/proofs/proof-context.ts'
import { ClosedError, QuloudError } from '../../errors.ts'
import type { AbortOptions } from '../../ports/abort-options.ts'
import type { AuditProof, FederationClient, ProvenSession, RenewAnswer, StorageCandidate, StoredReceipt, StoreChunkRequest } from '../../ports/federation-client.ts'
import { MAX_REOPENS, StoreLink } from './store-link.ts'

/**
 * Requests a proven session must answer before a later break counts as a hiccup rather
 * than as the holder's habit: a proof costs ~120 ms of owner CPU, so a holder breaking
 * sessions on purpose gets at most one proof per this many chunks.
 */
const HEALTHY_SESSION_REQUESTS = 64

/**
 * How long an operation reuses its list of storage candidates: the daemon reads it from
 * its peer book, and a put of many small files would read it once per file.
 */
const CANDIDATES_TTL_MS = 10_000

/** Options of an owner step that may run inside a larger operation's pool. */
export interface SessionOptions extends AbortOptions {
  /** The operation's pool; without one the step opens its own and closes it when done. */
  sessions?: PeerSessions
}

/**
 * Every conversation one owner operation has with storage nodes: a store stream per
 * peer, and a proven session per (peer, commitment, action), each opened on first use
 * and reused by every later request of the operation (data and manifest, all the files
 * of one command, the catalogue update at its end), then closed once by `close`.
 * Owner workflows ask the pool and never dial by themselves, so a proof is paid once
 * per holder and commitment, and a store stream once per holder.
 *
 * Retry policy, in one place: a broken store stream is reopened (StoreLink); a session
 * whose stream broke, or that the node says has expired, is proven again on a fresh
 * stream, once per request and MAX_REOPENS times in a row per session; refusals of the
 * request itself, and answers such as not-found, are never retried. A session that could not be opened stays failed until its
 * commitment is released, so a dead holder costs one dial per file, not one per chunk.
 * The operation's AbortSignal goes to every dial.
 */
export class PeerSessions {
  private readonly federation: FederationClient
  private readonly options: AbortOptions | undefined
  private readonly links = new Map<string, StoreLink>()
  private readonly sessions = new Map<string, { commitment: string, session: Promise<ProvenSession>, reopens: number, served: number }>()
  private readonly commitments = new Map<bigint, string>()
  /** Peers whose last dial in this operation failed: asked last, not skipped. */
  private readonly failing = new Set<string>()
  private closed = false
  private listed: { at: number, candidates: Promise<StorageCandidate[]> } | undefined

  constructor (federation: FederationClient, options?: AbortOptions) {
    this.federation = federation
    this.options = options
  }

  /** Runs `step` in `options.sessions`, or in a pool of its own that is closed after it. */
  static async using<T> (federation: FederationClient, options: SessionOptions | undefined, step: (sessions: PeerSessions) => Promise<T>): Promise<T> {
    if (options?.sessions !== undefined) return step(options.sessions)
    const sessions = new PeerSessions(federation, options)
    try {
      return await step(sessions)
    } finally {
      await sessions.close()
    }
  }

  get signal (): AbortSignal | undefined {
    return this.options?.signal
  }

  /**
   * `peers` in the order to try them: those whose last dial in this operation failed go
   * last, so a holder that is down costs one dial timeout per operation, not one per file.
   */
  inOrder (peers: readonly string[]): string[] {
    return [...peers.filter((peer) => !this.failing.has(peer)), ...peers.filter((peer) => this.failing.has(peer))]
  }

  /** The federation's storage candidates, asked at most once per CANDIDATES_TTL_MS of this operation. */
  async candidates (): Promise<StorageCandidate[]> {
    const now = Date.now()
    if (this.listed === undefined || now - this.listed.at > CANDIDATES_TTL_MS) {
      const candidates = this.federation.candidates(this.options)
      this.listed = { at: now, candidates }
      // a failed listing is not kept: the next file asks again
      candidates.catch(() => { if (this.listed?.candidates === candidates) this.listed = undefined })
    }
    return this.listed.candidates
  }

  /** Whether the last dial to `peer` in this operation failed. */
  isFailing (peer: string): boolean {
    return this.failing.has(peer)
  }

  /** Opens the store stream to `peer` (or finds it open); rejects when it cannot be reached. */
  async connect (peer: string): Promise<void> {
    const link = this.link(peer)
    const dial = link.current
    await this.watch(peer, link.opened()).catch((err) => {
      // a link opened since, or this one dialling again for a store, is not this failure's to drop
      if (this.links.get(peer) === link && link.current === dial) this.drop(peer)
      throw err
    })
  }

  /**
   * Opens the store streams to those of `peers` that are reachable storage candidates,
   * in the background: an operation that will store on them soon (a put's catalogue
   * holders) does not pay a dial (3-17 ms of a ~0.2 s re-put) on the way of its first
   * store. A dial that fails only marks the peer failing; closing the pool ends those
   * still under way.
   */
  warm (peers: readonly string[]): void {
    if (peers.length === 0 || this.closed) return
    void this.candidates().then((candidates) => {
      const live = new Set(candidates.filter((c) => c.reachable).map((c) => c.peerId))
      for (const peer of peers) if (live.has(peer) && !this.closed && !this.links.has(peer)) this.connect(peer).catch(() => {})
    }, () => {})
  }

  /** Stores one chunk on `peer`; the node's verified receipt. */
  async store (peer: string, chunk: StoreChunkRequest): Promise<StoredReceipt> {
    const link = this.link(peer)
    try {
      return await link.store(chunk)
    } catch (err) {
      if (link.broken) this.drop(peer)
      throw err
    }
  }

  /** The chunk `chunkId` held on `peer` under the commitment of `secret`, verified against its id. */
  async get (peer: string, secret: bigint, chunkId: string): Promise<Uint8Array> {
    return this.request(peer, secret, 'read', async (session) => session.get(chunkId))
  }

  /**
   * Sampled leaves of `chunkId` on `peer` with their Merkle paths (unverified), in the
   * read session of `secret`; undefined when the session cannot audit (read the chunk instead).
   */
  async audit (peer: string, secret: bigint, chunkId: string, leaves: number[]): Promise<AuditProof | undefined> {
    return this.request(peer, secret, 'read', async (session) => session.audit?.(chunkId, leaves))
  }

  /** Every chunk id `peer` holds under the commitment of `secret`. */
  async list (peer: string, secret: bigint): Promise<string[]> {
    return this.request(peer, secret, 'read', async (session) => session.list())
  }

  /** Proof-gated delete of `chunkId` under the commitment of `secret` on `peer`. */
  async delete (peer: string, secret: bigint, chunkId: string): Promise<{ bytesRemoved: boolean }> {
    return this.request(peer, secret, 'delete', async (session) => session.delete(chunkId))
  }

  /**
   * Renews the leases of `chunkIds` on `peer` under the commitment of `secret`, a delete
   * secret or the lease secret (protocol-spec/leases.md), setting `lease` on the records
   * renewed under D when given; undefined when the session cannot renew.
   */
  async renew (peer: string, secret: bigint, chunkIds: string[], lease?: string): Promise<RenewAnswer | undefined> {
    return this.request(peer, secret, 'delete', async (session) => session.renew?.(chunkIds, lease === undefined ? undefined : { lease }))
  }

  /** Closes the sessions under the commitment of `secret` (a file is done); a later request proves again. */
  async release (secret: bigint): Promise<void> {
    const commitment = this.commitments.get(secret)
    if (commitment === undefined) return
    this.commitments.delete(secret)
    const released = [...this.sessions].filter(([, s]) => s.commitment === commitment)
    for (const [key] of released) this.sessions.delete(key)
    await Promise.allSettled(released.map(async ([, s]) => (await s.session).close()))
  }

  /** Closes every stream and session; later requests reject with ClosedError. */
  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    const links = [...this.links.values()]
    const sessions = [...this.sessions.values()]
    this.links.clear()
    this.sessions.clear()
    await Promise.allSettled([
      ...links.map(async (link) => link.close()),
      ...sessions.map(async (s) => (await s.session).close())
    ])
  }

  private link (peer: string): StoreLink {
    this.assertOpen()
    let link = this.links.get(peer)
    if (link === undefined) {
      link = new StoreLink(peer, this.federation, this.options)
      this.links.set(peer, link)
    }
    return link
  }

  private drop (peer: string): void {
    const link = this.links.get(peer)
    if (link === undefined) return
    this.links.delete(peer)
    void link.close()
  }

  private async request<T> (peer: string, secret: bigint, action: ProofAction, call: (session: ProvenSession) => Promise<T>): Promise<T> {
    const opened = this.session(peer, secret, action)
    let session: ProvenSession
    try {
      session = await opened
    } catch (err) {
      // a challenge that expired before the proof was ready (a busy prover) is worth one more proof
      if (!isExpired(err) || this.aborted) throw err
      return call(await this.session(peer, secret, action, opened))
    }
    try {
      const result = await call(session)
      // only a session that served enough to be worth its proof clears the reopen count: a
      // holder that breaks every session after a few answers must not cost a proof per few chunks
      const entry = this.sessions.get(this.keyOf(peer, secret, action))
      if (entry?.session === opened && ++entry.served >= HEALTHY_SESSION_REQUESTS) entry.reopens = 0
      return result
    } catch (err) {
      // the node's session ran out (its lifetime is minutes; a large file takes longer), or
      // the stream broke: prove again on a fresh stream, within the reopen budget
      if (!(isExpired(err) || isBrokenStream(err)) || this.aborted) throw err
      return call(await this.session(peer, secret, action, opened))
    }
  }

  /**
   * The session for (peer, commitment, action). `stale` is replaced by a fresh one if it
   * is still current and the key has reopened fewer than MAX_REOPENS times in a row;
   * past that the stale one is returned, and the request fails as it did.
   */
  private session (peer: string, secret: bigint, action: ProofAction, stale?: Promise<ProvenSession>): Promise<ProvenSession> {
    this.assertOpen()
    const key = this.keyOf(peer, secret, action)
    const current = this.sessions.get(key)
    if (current !== undefined && current.session !== stale) return current.session
    if (current !== undefined && current.reopens >= MAX_REOPENS) return current.session
    if (current !== undefined) void current.session.then(async (s) => s.close()).catch(() => {})
    const session = this.watch(peer, this.federation.openSession(peer, { action, secret }, this.options))
    session.catch(() => {}) // awaited by the request that asked for it
    this.sessions.set(key, { commitment: this.commitmentOf(secret), session, reopens: current === undefined ? 0 : current.reopens + 1, served: 0 })
    return session
  }

  private keyOf (peer: string, secret: bigint, action: ProofAction): string {
    return `${peer} ${action} ${this.commitmentOf(secret)}`
  }

  private get aborted (): boolean {
    return this.options?.signal?.aborted === true
  }

  /** Notes whether a dial to `peer` worked, for `inOrder`. */
  private watch<T> (peer: string, dial: Promise<T>): Promise<T> {
    dial.then(() => this.failing.delete(peer), () => this.failing.add(peer))
    return dial
  }

  private commitmentOf (secret: bigint): string {
    let commitment = this.commitments.get(secret)
    if (commitment === undefined) {
      commitment = commitmentToDecimal(poseidonCommitment(secret))
      this.commitments.set(secret, commitment)
    }
    return commitment
  }

  private assertOpen (): void {
    if (this.closed) throw new ClosedError('this operation is over; its peer sessions are closed')
  }
}

function isExpired (err: unknown): boolean {
  return err instanceof ExpiredError
}

/** A failure of the stream rather than an answer of the node: anything but a typed refusal. */
function isBrokenStream (err: unknown): boolean {
  return !(err instanceof QuloudError) || err instanceof ProtocolError
}
