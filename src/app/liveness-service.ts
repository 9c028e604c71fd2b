import type { Announcement } from '../domain/membership/announcement.ts'
import type { AdmissionPolicy } from '../domain/membership/peer-book-policy.ts'
import type { LivenessPolicy, PeerEntry } from '../domain/membership/peer-entry.ts'
import type { AbortOptions } from '../ports/abort-options.ts'
import type { Logger } from '../ports/logger.ts'
import type { PeerBook } from '../ports/peer-book.ts'
import { KeyedMutex } from '../util/keyed-mutex.ts'
import type { StallClock } from './event-loop-stalls.ts'

/** Pings a peer and resolves to the round-trip time in ms; rejects when it does not answer. */
export type PingFn = (peerId: string, options: AbortOptions) => Promise<number>

export interface LivenessSettings extends LivenessPolicy {
  /** Time between the end of one probe round and the start of the next. */
  intervalMs: number
  /** A ping that has not answered after this long counts as failed. */
  timeoutMs: number
  /** Pings in flight at once. Default 8. */
  concurrency?: number
  /** Unreachable peers are probed with exponential back-off up to this. Default 10 min. */
  maxBackoffMs?: number
}

export interface LivenessServiceInit {
  book: PeerBook
  ping: PingFn
  settings: LivenessSettings
  log: Logger
  now?: () => number
  /** The book's cap and stale time (`admit`, and the eviction at each round). Default 1000 peers, 3 days. */
  admission?: AdmissionPolicy
  /** The public subnet a peer that just answered answers from (the book caps entries per subnet). */
  answeringSubnet?: (peerId: string) => string | undefined
  /** Called when a peer's reachable flag changes. */
  onChange?: (entry: PeerEntry) => void
  /** Event-loop stalls, in its own monotonic time base (EventLoopStalls); start/stop run with the service's. */
  stalls: StallClock & { start?: () => void, stop?: () => void }
}

const DEFAULT_CONCURRENCY = 8
export const DEFAULT_ADMISSION: Readonly<AdmissionPolicy> = Object.freeze({ maxPeers: 1000, staleAfterMs: 3 * 24 * 3_600_000 })
const DEFAULT_MAX_BACKOFF_MS = 10 * 60_000
/**
 * A ping that timed out counts as failed only if the event loop ran for at least this
 * share of its timeout: otherwise the answer may have arrived and sat unread.
 */
const FAIR_SHARE_OF_TIMEOUT = 0.75

/**
 * Measures the liveness of every peer in the book: a round of pings every interval,
 * each bounded by a timeout, results applied with the book's policy. Peers already
 * unreachable are probed less often (exponential back-off from the interval), and
 * `probeSoon` probes one peer at once (e.g. when it connects or announces).
 * `stop` clears the timer, aborts pings in flight and waits for them.
 *
 * A ping is only a stand-in for "this peer answers us". A peer that is exchanging data
 * with us is alive whatever a ping says (its pings can queue behind 50 MB on the same
 * connection), so `observedAlive` records traffic that succeeded as a success, and a
 * ping that fails while such traffic went on counts for nothing. Nor does a ping count
 * that timed out while this node's own event loop was blocked: a busy NAS must not
 * see its peers vanish because it was too busy to read their answers.
 *
 * It is also the door of the book: `admit` dials a peer that announced itself and
 * records it only if it answered, and each round first evicts stale entries.
 */
export class LivenessService {
  private readonly init: LivenessServiceInit
  private readonly now: () => number
  private readonly inFlight = new Map<string, Promise<unknown>>()
  private readonly stalls: NonNullable<LivenessServiceInit['stalls']>
  /** When traffic with each peer last succeeded, in the stall clock's time base. */
  private readonly lastTraffic = new Map<string, number>()
  /** When traffic with each peer was last written to the book, same time base. */
  private readonly lastTrafficRecord = new Map<string, number>()
  private readonly lastFailure = new Map<string, string>()
  private readonly records = new KeyedMutex()
  private readonly admissions = new Set<Promise<boolean>>()
  private controller = new AbortController()
  private timer: ReturnType<typeof setTimeout> | undefined
  private round: Promise<void> | undefined
  private running = false

  constructor (init: LivenessServiceInit) {
    this.init = init
    this.now = init.now ?? Date.now
    this.stalls = init.stalls
  }

  start (): void {
    if (this.running) return
    this.running = true
    this.controller = new AbortController()
    this.stalls.start?.()
    this.schedule(0)
  }

  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    clearTimeout(this.timer)
    this.timer = undefined
    this.controller.abort()
    this.stalls.stop?.()
    await Promise.allSettled([this.round, ...this.inFlight.values(), ...this.admissions])
  }

  /**
   * Dials a peer known only from its announcement and, if it answers within the ping
   * timeout, admits it to the book (which may refuse it when full of live peers).
   * Resolves whether the peer is in the book afterwards; a peer that does not answer
   * is recorded nowhere.
   */
  async admit (announcement: Announcement, options?: AbortOptions): Promise<boolean> {
    if (!this.running) return false
    const work = this.dialAndAdmit(announcement, options?.signal === undefined ? this.controller.signal : AbortSignal.any([this.controller.signal, options.signal]))
    this.admissions.add(work)
    try {
      return await work
    } finally {
      this.admissions.delete(work)
    }
  }

  private async dialAndAdmit (announcement: Announcement, signal: AbortSignal): Promise<boolean> {
    const { book, ping, settings, log } = this.init
    const { peerId } = announcement
    let rttMs: number
    try {
      rttMs = await ping(peerId, { signal: AbortSignal.any([signal, AbortSignal.timeout(settings.timeoutMs)]) })
    } catch (err) {
      log.debug(`announced peer ${peerId} did not answer (${(err as Error).message}): not recorded`)
      return false
    }
    try {
      const subnet = this.init.answeringSubnet?.(peerId)
      const probe = { at: this.now(), ok: true, rttMs, ...(subnet === undefined ? {} : { subnet }) }
      const result = await this.records.run(peerId, async () => book.admit(announcement, probe, this.admission, { signal }))
      if (!result.admitted) log.debug(`peer ${peerId} answered but the book (or its subnet's share of it) is full of live peers`)
      else log.info(`peer ${peerId} answered and is recorded${result.evicted === undefined ? '' : `, replacing unreachable ${result.evicted}`}`)
      return result.admitted
    } catch (err) {
      if (!signal.aborted) log.debug(`cannot admit ${peerId}: ${(err as Error).message}`)
      return false
    }
  }

  private get admission (): AdmissionPolicy {
    return this.init.admission ?? DEFAULT_ADMISSION
  }

  /**
   * Traffic with `peerId` succeeded just now (it answered a request, acknowledged a
   * chunk): the peer is alive. Resets its failures and counts as a successful probe,
   * keeping the last measured round-trip time. Written to the book at most once per
   * interval per peer however much traffic there is; unknown peers are ignored
   * (traffic never creates peers). Resolves once any write is done.
   */
  async observedAlive (peerId: string): Promise<void> {
    if (this.controller.signal.aborted) return // stopped
    const at = this.stalls.now()
    this.lastTraffic.set(peerId, at)
    const written = this.lastTrafficRecord.get(peerId)
    if (written !== undefined && at - written < this.init.settings.intervalMs) return
    this.lastTrafficRecord.set(peerId, at)
    await this.record(peerId, true, undefined, this.controller.signal)
  }

  /** Probes one peer now, unless a probe of it is already in flight. */
  probeSoon (peerId: string): void {
    if (!this.running) return
    void this.probe(peerId, this.controller.signal)
  }

  /** One round over the book; resolves when every due peer has been probed. */
  async runRound (signal: AbortSignal = this.controller.signal): Promise<void> {
    this.forgetOldTraffic()
    const evicted = await this.init.book.evictStale(this.now(), this.admission, { signal })
    if (evicted.length > 0) this.init.log.info(`dropped ${evicted.length} peers that stopped answering`)
    const due = (await this.init.book.list({ signal })).filter((entry) => this.isDue(entry))
    const concurrency = this.init.settings.concurrency ?? DEFAULT_CONCURRENCY
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < due.length && !signal.aborted) {
        await this.probe(due[next++]!.peerId, signal)
      }
    }
    await Promise.all(Array.from({ length: Math.min(concurrency, due.length) }, worker))
  }

  /** Pings one peer and records the outcome; resolves to the updated entry. */
  async probe (peerId: string, signal: AbortSignal = this.controller.signal): Promise<PeerEntry | undefined> {
    const pending = this.inFlight.get(peerId)
    if (pending !== undefined) return undefined
    const work = this.pingAndRecord(peerId, signal)
    this.inFlight.set(peerId, work)
    try {
      return await work
    } finally {
      this.inFlight.delete(peerId)
    }
  }

  private async pingAndRecord (peerId: string, signal: AbortSignal): Promise<PeerEntry | undefined> {
    const { ping, settings, log } = this.init
    const started = this.stalls.now()
    let rttMs: number
    try {
      rttMs = await ping(peerId, { signal: AbortSignal.any([signal, AbortSignal.timeout(settings.timeoutMs)]) })
    } catch (err) {
      if (signal.aborted) return undefined // stopping: a cancelled ping says nothing about the peer
      const reason = (err as Error).message
      if ((this.lastTraffic.get(peerId) ?? -Infinity) >= started) {
        log.debug(`ping ${peerId} failed (${reason}) while traffic with it succeeded: not a failure`)
        return undefined
      }
      const stalled = this.stalls.stalledSince(started)
      const attention = settings.timeoutMs - stalled
      if (attention < settings.timeoutMs * FAIR_SHARE_OF_TIMEOUT) {
        log.debug(`ping ${peerId} failed (${reason}) while this node's event loop was blocked for ${Math.round(stalled)} ms: not a failure`)
        return undefined
      }
      log.debug(`ping ${peerId} failed: ${reason}`)
      this.lastFailure.set(peerId, reason)
      // after a failure that counts, the next sign of life goes to the book at once
      this.lastTrafficRecord.delete(peerId)
      return this.record(peerId, false, undefined, signal)
    }
    return this.record(peerId, true, rttMs, signal)
  }

  /** Applies one outcome to the book, one at a time per peer, and reports a change of reachability. */
  private async record (peerId: string, ok: boolean, rttMs: number | undefined, signal: AbortSignal): Promise<PeerEntry | undefined> {
    const { book, settings, log } = this.init
    try {
      return await this.records.run(peerId, async () => {
        const before = await book.get(peerId, { signal })
        // traffic carries no round-trip time: keep the last one a ping measured
        const rtt = rttMs ?? before.liveness.lastRttMs ?? undefined
        const after = await book.recordProbe(peerId, { at: this.now(), ok, ...(rtt === undefined ? {} : { rttMs: rtt }) }, settings, { signal })
        if (before.liveness.reachable !== after.liveness.reachable) {
          log.info(after.liveness.reachable
            ? `peer ${peerId} is reachable`
            : `peer ${peerId} is unreachable: ${after.liveness.consecutiveFailures} probes failed in a row, the last with "${this.lastFailure.get(peerId) ?? 'no answer'}"`)
          this.init.onChange?.(after)
        }
        if (ok) this.lastFailure.delete(peerId)
        return after
      })
    } catch (err) {
      if (!signal.aborted) log.debug(`cannot record a probe of ${peerId}: ${(err as Error).message}`)
      return undefined
    }
  }

  /** Keeps the traffic maps to peers heard from within a probe's reach. */
  private forgetOldTraffic (): void {
    const horizon = this.stalls.now() - this.init.settings.intervalMs - this.init.settings.timeoutMs
    for (const map of [this.lastTraffic, this.lastTrafficRecord]) {
      for (const [peerId, at] of map) if (at < horizon) map.delete(peerId)
    }
  }

  private isDue (entry: PeerEntry): boolean {
    const { liveness } = entry
    if (liveness.reachable || liveness.lastProbe === null) return true
    const { intervalMs, unreachableAfterFailures } = this.init.settings
    const excess = Math.max(0, liveness.consecutiveFailures - unreachableAfterFailures)
    const backoff = Math.min(intervalMs * 2 ** Math.min(excess, 20), this.init.settings.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS)
    return this.now() - liveness.lastProbe >= backoff
  }

  private schedule (delayMs: number): void {
    if (!this.running) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.round = this.runRound()
        .catch((err) => { if (!this.controller.signal.aborted) this.init.log.warn('liveness round failed', err) })
        .finally(() => { this.round = undefined; this.schedule(this.init.settings.intervalMs) })
    }, delayMs)
  }
}
