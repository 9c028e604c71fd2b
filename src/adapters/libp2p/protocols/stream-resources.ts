import type { Connection, Stream } from '@libp2p/interface'
import { BusyError } from '../../../domain/protocol/federation-errors.ts'
import { admissionNetworkOf } from '../../../domain/membership/subnet.ts'
import { isRefusal, type Refusal, type Reservation, type ResourceBudget, type StreamBudget } from '../../../domain/resources/resource-budget.ts'
import { AbortError } from '../../../errors.ts'
import { holdBack } from './hold-back.ts'
import { msToRefill } from '../../../util/rate-allowance.ts'

export interface StreamResourcesInit {
  budget: ResourceBudget
  /** Trusted or reciprocal peers (Allowances.standingOf): kept out of the strangers' share. */
  isKnown: (peer: string) => boolean
  /** A response whose write does not drain in this time ends its stream. */
  writeDrainTimeoutMs: number
  /** How long a response may wait for memory before its stream ends with BUSY. */
  memoryWaitMs?: number
}

/** A response waits this long for memory by default: about the time one chunk takes to drain to a slow reader. */
const MEMORY_WAIT_MS = 10_000
/** The longest a stranger's connection is held back for streams over its subnet's rate (a burst of debt at 32 a second: 4 s). */
const MAX_HOLD_BACK_MS = 10_000

/**
 * The node's resource budget as the protocol handlers use it: a stream is admitted
 * against every scope of its peer, its bytes are reserved before they are buffered,
 * and a response that finds no room waits (bounded) for another to drain.
 */
export class StreamResources {
  readonly budget: ResourceBudget
  readonly writeDrainTimeoutMs: number
  private readonly init: StreamResourcesInit
  /** Strangers' streams `count` admitted where the muxer made them: not counted again at `open`. */
  private readonly counted = new WeakSet<Stream>()

  constructor (init: StreamResourcesInit) {
    this.init = init
    this.budget = init.budget
    this.writeDrainTimeoutMs = init.writeDrainTimeoutMs
  }

  /**
   * Counts `stream`, which the peer on `connection` just opened, against its subnet's
   * new streams before any protocol is negotiated on it (InboundStreamGate calls this
   * where the muxer makes the stream), so identify, ping, the DHT, gossip and the v1
   * ids meet the strangers' rate as the storage protocols do. False when it is over the
   * rate: the caller resets it at once, it still costs its subnet one
   * (ResourceBudget.takeNewStream), and its connection is held back. A stream refused
   * after negotiation (as before, with BUSY) made the node negotiate it, start its
   * handler, write the refusal and decrypt the first window its peer then sent: the ids
   * of one host had ~100 such streams a second handled, at twice the node's calm CPU.
   * Known peers are not counted.
   */
  count (stream: Stream, connection: Connection): boolean {
    if (this.init.isKnown(connection.remotePeer.toString())) return true
    const subnet = admissionNetworkOf(connection.remoteAddr.toString())
    if (!this.budget.takeNewStream(subnet)) {
      this.holdBack(connection, subnet)
      return false
    }
    this.counted.add(stream)
    return true
  }

  /**
   * Admits an inbound stream of `protocol` on `connection`; BusyError names the full
   * scope. A stream `count` did not see takes its subnet's new stream here; one over
   * that rate also pauses `connection` (holdBack).
   */
  open (connection: Connection, protocol: string, inbound?: Stream): StreamBudget {
    const peer = connection.remotePeer.toString()
    const subnet = admissionNetworkOf(connection.remoteAddr.toString())
    const counted = inbound !== undefined && this.counted.has(inbound)
    const stream = this.budget.openStream({ peer, subnet, protocol, known: this.init.isKnown(peer), counted })
    if (isRefusal(stream)) {
      if (stream.resource === 'new streams') this.holdBack(connection, subnet)
      throw busy(stream)
    }
    return stream
  }

  /**
   * Stops reading `connection` until its subnet may open a stream again (at most
   * MAX_HOLD_BACK_MS): refusing a stream costs the node what its peer sent on it and
   * about what the peer spent opening it, so a stranger reopening refused streams at
   * once kept the node's main thread as busy as its own. Over its rate a stranger is
   * slowed rather than served refusals (hold-back.ts). Honest strangers stay within
   * the rate; known peers are never paced.
   */
  private holdBack (connection: Connection, subnet: string): void {
    const rate = this.budget.limits.strangerStreams
    if (rate === undefined) return
    holdBack(connection, Math.min(MAX_HOLD_BACK_MS, msToRefill(1 - this.budget.newStreamsOf(subnet), rate.perSecond)))
  }

  /**
   * Charges the stranger on `connection` for a frame it began and never finished in
   * time: its subnet owes one burst of new streams (resource-budget.ts `penalise`), so
   * frames held to their deadline and reopened at once cost it its streams. Known peers
   * are never charged.
   */
  penalise (connection: Connection): void {
    const peer = connection.remotePeer.toString()
    const rate = this.budget.limits.strangerStreams
    if (rate === undefined || this.init.isKnown(peer)) return
    this.budget.penalise(admissionNetworkOf(connection.remoteAddr.toString()), rate.burst)
  }

  /**
   * Reserves `bytes` on `stream`, waiting for releases up to `memoryWaitMs`; BusyError
   * when there is still no room, AbortError when `signal` fires.
   */
  async reserve (stream: StreamBudget, bytes: number, signal?: AbortSignal): Promise<Reservation> {
    const deadline = Date.now() + (this.init.memoryWaitMs ?? MEMORY_WAIT_MS)
    for (;;) {
      const got = stream.reserveMemory(bytes)
      if (!isRefusal(got)) return got
      const left = deadline - Date.now()
      if (left <= 0 || got.scope === 'stream' && got.limit < bytes) throw busy(got)
      await this.nextRelease(left, signal)
    }
  }

  private async nextRelease (ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted === true) throw new AbortError('stopped waiting for memory', { cause: signal.reason })
    let off = (): void => {}
    let timer: ReturnType<typeof setTimeout> | undefined
    let onAbort: (() => void) | undefined
    try {
      await new Promise<void>((resolve, reject) => {
        off = this.budget.onRelease(resolve)
        timer = setTimeout(resolve, ms)
        onAbort = () => reject(new AbortError('stopped waiting for memory', { cause: signal?.reason }))
        signal?.addEventListener('abort', onAbort, { once: true })
      })
    } finally {
      off()
      clearTimeout(timer)
      if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort)
    }
  }
}

/** The refusal a peer reads: which budget is full, never whose. */
export function busy (refusal: Refusal): Error {
  const scope = refusal.scope.replace(/:.*$/u, '')
  return new BusyError(`the node's ${scope} ${refusal.resource} budget is full; retry later`)
}
