import { BusyError } from '../../../domain/protocol/federation-errors.ts'
import { addCount } from '../../../util/counts.ts'
import { RateAllowance } from '../../../util/rate-allowance.ts'

export interface PeerLimitsInit {
  /** Streams of all Quloud protocols one peer may have open at once. */
  maxStreamsPerPeer: number
  /** Sustained requests per second per peer. */
  requestsPerSecond: number
  /** Requests a peer may send in a burst above the sustained rate. */
  burst: number
  now?: () => number
  /**
   * Told how each stream served under these limits ended (serveStream): `ok`, or the
   * stable code of the refusal (`busy`, `quota-exceeded`, `invalid-proof`…, `internal`
   * for a failure of this node). The node's request metrics.
   */
  onServed?: (protocol: string, outcome: string) => void
  /**
   * Told of each refusal answered inside a stream that goes on (one store over quota
   * among many; a chunk not found): the protocol and the refusal's stable code.
   */
  onRefused?: (protocol: string, code: string) => void
}

/**
 * Per-peer admission control shared by every Quloud protocol handler of a node: a
 * cap on concurrent streams and a token bucket on requests. A peer over a limit gets
 * BusyError (wire code BUSY) at once instead of queueing or timing out.
 */
export class PeerLimits {
  private readonly init: PeerLimitsInit
  private readonly streams = new Map<string, number>()
  private readonly buckets = new Map<string, RateAllowance>()
  private readonly now: () => number

  constructor (init: PeerLimitsInit) {
    this.init = init
    this.now = init.now ?? Date.now
  }

  /** Admits a new stream from `peer`; the returned function releases it. */
  openStream (peer: string): () => void {
    const open = this.streams.get(peer) ?? 0
    if (open >= this.init.maxStreamsPerPeer) throw new BusyError(`too many open streams (${open}); retry later`)
    this.streams.set(peer, open + 1)
    let released = false
    return () => {
      if (released) return
      released = true
      addCount(this.streams, peer, -1)
    }
  }

  /** Reports how one served stream ended (see `onServed`). */
  served (protocol: string, outcome: string): void {
    this.init.onServed?.(protocol, outcome)
  }

  /** Reports one refusal answered inside a stream that goes on (see `onRefused`). */
  refused (protocol: string, code: string): void {
    this.init.onRefused?.(protocol, code)
  }

  /** Charges one request (or `cost`) to `peer`. */
  charge (peer: string, cost = 1): void {
    let bucket = this.buckets.get(peer)
    if (bucket === undefined) {
      // forget full buckets so idle peers cost no memory
      if (this.buckets.size >= 10_000) for (const [key, b] of this.buckets) if (b.full) this.buckets.delete(key)
      bucket = RateAllowance.perSecond(this.init.requestsPerSecond, this.init.burst, this.now)
      this.buckets.set(peer, bucket)
    }
    if (!bucket.take(cost)) throw new BusyError('request rate limit reached; slow down')
  }
}
