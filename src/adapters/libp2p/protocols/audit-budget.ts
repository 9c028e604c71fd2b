import { BusyError } from '../../../domain/protocol/federation-errors.ts'
import { TokenBucket } from '../wire/token-bucket.ts'

/** Audits a second (sustained) and at once (burst) for one kind of requester. */
export interface AuditRate { perSecond: number, burst: number }

export interface AuditLimits {
  /** One stranger peer id. */
  stranger: AuditRate
  /** All strangers of one network (admissionNetworkOf) together: fresh ids cost nothing. */
  network: AuditRate
  /** One trusted or reciprocal peer (charged to no network). */
  known: AuditRate
}

/**
 * An audit costs a chunk read, opening and hashing (~6 ms of CPU for a 1 MiB chunk) and
 * answers ~5 KB. An honest owner audits `auditSample` (2) pieces per file and holder per
 * `auditEvery` (1 h), each file in a session of its own, after a proof its own CPU takes
 * ~120 ms to make: 10,000 files are 20,000 audits an hour, ~6 a second, at most ~16 while
 * it proves back to back. Strangers get twice that sustained rate per id, a network of
 * them together about four ids' worth (under a fifth of a core); known peers 64 a second.
 */
export const DEFAULT_AUDIT_LIMITS: AuditLimits = {
  stranger: { perSecond: 16, burst: 32 },
  network: { perSecond: 32, burst: 64 },
  known: { perSecond: 64, burst: 512 }
}

export interface AuditBudgetInit {
  /** Trusted or reciprocal peers (Allowances.standingOf). */
  isKnown: (peer: string) => boolean
  limits?: AuditLimits
  now?: () => number
}

interface Entry { bucket: TokenBucket, usedAt: number }

/** Buckets kept before the ones that have refilled are forgotten. */
const TRACKED = 10_000

/**
 * The retrieve protocol's audit requests, budgeted per peer and, for strangers, per
 * network: only the request rate bounded them before, so one stranger auditing a chunk
 * of its own made the node hash a MiB per 5 KB answer. Over budget an audit is refused
 * BUSY inside the stream, which goes on (an owner counts BUSY as saying nothing about
 * the data, and audits again next round).
 */
export class AuditBudget {
  private readonly init: AuditBudgetInit
  private readonly limits: AuditLimits
  private readonly now: () => number
  private readonly buckets = new Map<string, Entry>()
  /** Size at which refilled buckets are next swept: doubling keeps a sweep's cost amortised. */
  private sweepAt = TRACKED

  constructor (init: AuditBudgetInit) {
    this.init = init
    this.limits = init.limits ?? DEFAULT_AUDIT_LIMITS
    this.now = init.now ?? (() => performance.now())
  }

  /** Charges one audit to `peer` (and its network when a stranger); BusyError when over either. */
  charge (peer: string, network: string): void {
    const known = this.init.isKnown(peer)
    const buckets = known
      ? [this.bucketOf(`peer:${peer}`, this.limits.known)]
      : [this.bucketOf(`stranger:${peer}`, this.limits.stranger), this.bucketOf(`network:${network}`, this.limits.network)]
    // both or neither: an audit refused by its network does not spend its peer's turn
    if (buckets.some((b) => b.debtMs() > 0)) throw new BusyError('audit rate limit reached; audit again later')
    for (const bucket of buckets) bucket.charge(1)
  }

  private bucketOf (key: string, rate: AuditRate): TokenBucket {
    const now = this.now()
    let entry = this.buckets.get(key)
    if (entry === undefined) {
      if (this.buckets.size >= this.sweepAt) {
        this.forgetRefilled(now)
        this.sweepAt = Math.max(TRACKED, 2 * this.buckets.size)
      }
      // the bucket lets a taker go one below zero: a burst of `burst` is burst - 1 plus that one
      entry = { bucket: new TokenBucket(rate.perSecond, Math.max(1, rate.burst - 1), this.now), usedAt: now }
      this.buckets.set(key, entry)
    }
    entry.usedAt = now
    return entry.bucket
  }

  /** Drops buckets unused long enough to be full again: forgetting them gives nobody more. */
  private forgetRefilled (now: number): void {
    for (const [key, entry] of this.buckets) {
      const rate = key.startsWith('peer:') ? this.limits.known : key.startsWith('network:') ? this.limits.network : this.limits.stranger
      if (now - entry.usedAt >= (rate.burst + 1) / rate.perSecond * 1000) this.buckets.delete(key)
    }
  }
}
