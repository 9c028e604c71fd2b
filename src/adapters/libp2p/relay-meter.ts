import type { Connection, Stream } from '@libp2p/interface'
import { admissionNetworkOf } from '../../domain/membership/subnet.ts'
import { BusyError } from '../../domain/protocol/federation-errors.ts'
import { TokenBucket } from './wire/token-bucket.ts'

/** What the meter counts, for status and tests. */
export interface RelayMeterStats {
  /** Relayed bytes metered (strangers' connections). */
  meteredBytes: number
  /** How often a circuit was paused for its rate. */
  pauses: number
}

/** One end of a relayed circuit: the relay's stream to that peer and the connection it runs on. */
export interface CircuitSide { stream: Stream, connection: Connection }

/** How many bytes a side may have waiting for a peer that does not read before its other side is paused. */
const UNREAD_BYTES = 1024 * 1024

/** The relay server's meter of its circuits (relay-gate.ts). */
export interface RelayMeter {
  /** Meters a circuit just joined, until either side closes (circuits between known peers are left alone). */
  circuit (source: CircuitSide, destination: CircuitSide): void
  /** Ends the metered circuits of a stranger whose reservation was taken. */
  endCircuitsOf (holder: string): void
}

/** The meter for a relay whose strangers' circuits carry `rate` bytes per second each (per holder, per source network). */
export function relayMeter (rate: number, isKnown: (peer: string) => boolean, stats: RelayMeterStats): RelayMeter {
  return new CircuitMeter(rate, isKnown, stats)
}

/**
 * One token bucket per stranger reservation holder and per stranger source network,
 * charged by every message either side of a circuit brings.
 */
class CircuitMeter implements RelayMeter {
  private readonly buckets = new Map<string, { bucket: TokenBucket, circuits: number }>()
  /** Stranger holders' circuits, ended when their reservation goes to a known peer. */
  private readonly circuitsOf = new Map<string, Set<() => void>>()
  private readonly rate: number
  private readonly isKnown: (peer: string) => boolean
  private readonly stats: RelayMeterStats

  constructor (rate: number, isKnown: (peer: string) => boolean, stats: RelayMeterStats) {
    this.rate = rate
    this.isKnown = isKnown
    this.stats = stats
  }

  circuit (source: CircuitSide, destination: CircuitSide): void {
    const keys: string[] = []
    const sourcePeer = source.connection.remotePeer.toString()
    const holder = destination.connection.remotePeer.toString()
    if (!this.isKnown(holder)) keys.push(`holder ${holder}`)
    if (!this.isKnown(sourcePeer)) keys.push(`network ${admissionNetworkOf(source.connection.remoteAddr.toString())}`)
    // known peers at both ends: relayed as libp2p relays, unmetered
    if (keys.length === 0) return
    const buckets = keys.map((key) => this.take(key))
    const sides = [source.stream, destination.stream]
    const end = (): void => { for (const stream of sides) stream.abort(new BusyError('the relay gave this reservation to a peer it knows')) }
    if (!this.isKnown(holder)) {
      let ends = this.circuitsOf.get(holder)
      if (ends === undefined) this.circuitsOf.set(holder, ends = new Set())
      ends.add(end)
    }
    let timer: ReturnType<typeof setTimeout> | undefined
    let ended = false

    const debtMs = (): number => Math.max(0, ...buckets.map((b) => b.debtMs()))
    let settling = false
    let again = false
    // resuming a side hands on what it buffered at once, which charges the buckets and
    // settles again: that inner call is folded into this one, whose timer is the last word
    const settle = (): void => {
      if (ended) return
      if (settling) {
        again = true
        return
      }
      settling = true
      let wait = 0
      do {
        again = false
        wait = debtMs()
        for (const [i, stream] of sides.entries()) {
          const other = sides[1 - i]!
          const hold = wait > 0 || other.writableNeedsDrain || other.writeBufferLength > UNREAD_BYTES
          if (hold && stream.readStatus === 'readable') {
            stream.pause()
            if (wait > 0) this.stats.pauses++
          } else if (!hold && stream.readStatus === 'paused') stream.resume()
        }
      } while (again && !ended)
      settling = false
      clearTimeout(timer)
      timer = wait > 0 && !ended ? setTimeout(settle, wait) : undefined
    }
    const onMessage = (evt: { data: { byteLength: number } }): void => {
      for (const bucket of buckets) bucket.charge(evt.data.byteLength)
      this.stats.meteredBytes += evt.data.byteLength
      settle()
    }
    const onEnd = (): void => {
      if (ended) return
      ended = true
      clearTimeout(timer)
      for (const stream of sides) {
        stream.removeEventListener('message', onMessage)
        stream.removeEventListener('drain', settle)
        // the side still open finishes unmetered rather than stay paused for good
        if (stream.readStatus === 'paused') stream.resume()
      }
      for (const key of keys) this.release(key)
      const ends = this.circuitsOf.get(holder)
      ends?.delete(end)
      if (ends?.size === 0) this.circuitsOf.delete(holder)
    }
    // the piping relay adds its listeners after this: ours only counts and pauses
    for (const stream of sides) {
      capWindow(stream)
      stream.addEventListener('message', onMessage)
      stream.addEventListener('drain', settle)
      stream.addEventListener('close', onEnd, { once: true })
    }
  }

  endCircuitsOf (holder: string): void {
    for (const end of [...this.circuitsOf.get(holder) ?? []]) end()
  }

  private take (key: string): TokenBucket {
    let entry = this.buckets.get(key)
    if (entry === undefined) {
      entry = { bucket: new TokenBucket(this.rate, this.rate), circuits: 0 }
      this.buckets.set(key, entry)
    }
    entry.circuits++
    return entry.bucket
  }

  private release (key: string): void {
    const entry = this.buckets.get(key)
    if (entry === undefined) return
    if (--entry.circuits > 0) return
    // a bucket in debt outlives its circuits until paid, or closing and reopening a circuit would wipe it
    const forget = (): void => {
      if (entry.circuits > 0 || this.buckets.get(key) !== entry) return
      const wait = entry.bucket.debtMs()
      if (wait === 0) this.buckets.delete(key)
      else setTimeout(forget, wait).unref()
    }
    forget()
  }
}

/**
 * A metered side's yamux receive window, kept at yamux's initial one. A pause stops
 * window updates, but what the window already granted still arrives, and libp2p hands
 * it on in one message when the side resumes: grown to yamux's 16 MiB, one resume let a
 * stranger's 1.5 MB through at once. A small window bounds that burst, and what a
 * paused side buffers, at the cost of a stranger's relayed rate over long round trips.
 */
const METERED_WINDOW = 256 * 1024

/** Caps a yamux stream's receive window (fields of @chainsafe/libp2p-yamux's stream; other muxers are left as they are). */
function capWindow (stream: Stream): void {
  const yamux = stream as unknown as { maxStreamWindowSize?: number, recvWindow?: number }
  if (typeof yamux.maxStreamWindowSize !== 'number' || typeof yamux.recvWindow !== 'number') return
  yamux.maxStreamWindowSize = Math.min(yamux.maxStreamWindowSize, METERED_WINDOW)
  yamux.recvWindow = Math.min(yamux.recvWindow, METERED_WINDOW)
}
