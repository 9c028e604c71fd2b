import type { LivenessPolicy, PeerEntry } from '../domain/membership/peer-entry.ts'
import type { AbortOptions } from '../ports/abort-options.ts'
import type { Logger } from '../ports/logger.ts'
import type { PeerBook } from '../ports/peer-book.ts'

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
  /** Called when a peer's reachable flag changes. */
  onChange?: (entry: PeerEntry) => void
}

const DEFAULT_CONCURRENCY = 8
const DEFAULT_MAX_BACKOFF_MS = 10 * 60_000

/**
 * Measures the liveness of every peer in the book: a round of pings every interval,
 * each bounded by a timeout, results applied with the book's policy. Peers already
 * unreachable are probed less often (exponential back-off from the interval), and
 * `probeSoon` probes one peer at once (e.g. when it connects or announces).
 * `stop` clears the timer, aborts pings in flight and waits for them.
 */
export class LivenessService {
  private readonly init: LivenessServiceInit
  private readonly now: () => number
  private readonly inFlight = new Map<string, Promise<unknown>>()
  private controller = new AbortController()
  private timer: ReturnType<typeof setTimeout> | undefined
  private round: Promise<void> | undefined
  private running = false

  constructor (init: LivenessServiceInit) {
    this.init = init
    this.now = init.now ?? Date.now
  }

  start (): void {
    if (this.running) return
    this.running = true
    this.controller = new AbortController()
    this.schedule(0)
  }

  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    clearTimeout(this.timer)
    this.timer = undefined
    this.controller.abort()
    await Promise.allSettled([this.round, ...this.inFlight.values()])
  }

  /** Probes one peer now, unless a probe of it is already in flight. */
  probeSoon (peerId: string): void {
    if (!this.running) return
    void this.probe(peerId, this.controller.signal)
  }

  /** One round over the book; resolves when every due peer has been probed. */
  async runRound (signal: AbortSignal = this.controller.signal): Promise<void> {
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
    const { book, ping, settings, log } = this.init
    let ok = false
    let rttMs: number | undefined
    try {
      rttMs = await ping(peerId, { signal: AbortSignal.any([signal, AbortSignal.timeout(settings.timeoutMs)]) })
      ok = true
    } catch (err) {
      if (signal.aborted) return undefined // stopping: a cancelled ping says nothing about the peer
      log.debug(`ping ${peerId} failed: ${(err as Error).message}`)
    }
    try {
      const before = await book.get(peerId, { signal })
      const after = await book.recordProbe(peerId, { at: this.now(), ok, rttMs }, settings, { signal })
      if (before.liveness.reachable !== after.liveness.reachable) {
        log.info(`peer ${peerId} is ${after.liveness.reachable ? 'reachable' : 'unreachable'}`)
        this.init.onChange?.(after)
      }
      return after
    } catch (err) {
      if (!signal.aborted) log.debug(`cannot record a probe of ${peerId}: ${(err as Error).message}`)
      return undefined
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
