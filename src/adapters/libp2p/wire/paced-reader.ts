import type { Stream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface'
import { Uint8ArrayList } from 'uint8arraylist'
import { BusyError, PeerTimeoutError, ProtocolError } from '../../../domain/protocol/federation-errors.ts'
import { isRefusal, type Refusal, type Reservation, type StreamBudget } from '../../../domain/resources/resource-budget.ts'

export interface PacedReaderInit {
  /** Unread bytes at which the stream is paused. */
  highWaterBytes: number
  /**
   * The stream's budget. The reader then keeps reserved every byte it holds plus the
   * most the peer may send before it is paused (`windowBytes`), so bytes are charged
   * before they can arrive, and the stream is paused (back-pressure) while that
   * reservation cannot grow.
   */
  budget?: StreamBudget
  /**
   * The most a peer may send on a stream without asking: the muxer's largest receive
   * window. On a yamux stream only what yamux has granted (or may grant at its next
   * window update) is reserved, up to this.
   */
  windowBytes?: number
}

/**
 * The bytes a peer sent that we have not read yet, held to a bound. Iterating a libp2p
 * stream never pauses it: yamux grants window as data arrives, so a peer could fill our
 * memory while our reader is busy. Once `highWaterBytes` are unread this pauses the
 * stream (yamux stops granting window) and resumes it when the reader wants more.
 *
 * With a budget, what the stream can make the node hold is reserved before it arrives:
 * yamux grants a readable stream its window again on every arrival, so the peer may
 * always have `windowBytes` in flight, and those are counted as well as the bytes
 * buffered here and in libp2p's paused-stream buffer. Reserving at the frame header
 * (as before) left the read-ahead, the paused buffer and the window uncounted.
 */
export class PacedReader {
  readonly buffer = new Uint8ArrayList()
  private readonly stream: Stream
  private readonly init: PacedReaderInit
  private readonly maxWindow: number
  private readonly reservation: Reservation | undefined
  /** Bytes of the frame being read (its header said so), reserved even before they arrive. */
  private frameBytes = 0
  private ended: boolean
  private failure: Error | undefined
  private wake: (() => void) | undefined
  /** Why the reservation could not grow; the stream stays paused until it can. */
  private starved: Refusal | undefined
  private stopWaiting: (() => void) | undefined
  private resuming = false
  /** In a message event: the muxer renews the window once it returns. */
  private granting = false
  private stopped = false

  /** Throws BusyError when the budget has no room for the stream's window. */
  constructor (stream: Stream, init: PacedReaderInit) {
    this.stream = stream
    this.init = init
    this.maxWindow = init.budget === undefined ? 0 : init.windowBytes ?? 0
    if (init.budget !== undefined) {
      const got = init.budget.reserveMemory(this.grantable())
      if (isRefusal(got)) throw readAheadRefused(got)
      this.reservation = got
    }
    this.ended = stream.readableEnded
    stream.addEventListener('message', this.onMessage)
    stream.addEventListener('end', this.onEnd)
    stream.addEventListener('close', this.onClose)
  }

  /** Bytes this stream holds now: read ahead here, and in libp2p's buffer while paused. */
  get heldBytes (): number {
    return this.buffer.byteLength + this.stream.readBufferLength
  }

  /** Bytes reserved for this stream's reading (0 without a budget). */
  get reservedBytes (): number {
    return this.reservation?.bytes ?? 0
  }

  /** Drops `bytes` read bytes from the front and lets the peer send again if there is room. */
  consume (bytes: number): void {
    this.buffer.consume(bytes)
    this.settle()
  }

  /**
   * Takes `bytes` from the front as one frame, with their reservation (undefined without
   * a budget): the caller releases it once done with the frame.
   */
  take (bytes: number): { frame: Uint8Array, reservation?: Reservation } {
    let frame = this.buffer.subarray(0, bytes)
    // a small frame is a view of the transport's 64 KiB chunk: held as it is, it would
    // pin the whole chunk while its reservation counts only its own bytes
    if (frame.byteLength * 2 < frame.buffer.byteLength) frame = frame.slice()
    this.buffer.consume(bytes)
    const reservation = this.reservation?.split(bytes)
    this.frameBytes = 0
    this.settle()
    return { frame, reservation }
  }

  /**
   * Reserves the `bytes` of the frame whose header was just read, before its body
   * arrives; the refusal when the budget has no room for it (nothing changes then).
   */
  expect (bytes: number): Refusal | undefined {
    const before = this.frameBytes
    this.frameBytes = bytes
    const refusal = this.grow()
    if (refusal !== undefined) {
      this.frameBytes = before
      return refusal
    }
    this.settle()
    return undefined
  }

  /**
   * Waits until something arrived (true) or returns false when the peer has finished; throws
   * the stream's error when it was reset, PeerTimeoutError after `idleTimeoutMs` of
   * silence or when `signal` fires, and BusyError when the reader wants more but the
   * budget has no room for what the peer may send next.
   */
  async more (idleTimeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (this.failure !== undefined) throw this.failure
    if (this.ended) return false
    if (signal?.aborted === true) throw new ProtocolError('stream aborted', { cause: signal.reason })
    this.settle()
    if (this.starved !== undefined) throw readAheadRefused(this.starved)
    let timer: ReturnType<typeof setTimeout> | undefined
    let onAbort: (() => void) | undefined
    try {
      await new Promise<void>((resolve, reject) => {
        this.wake = resolve
        timer = setTimeout(() => reject(new PeerTimeoutError(`the peer sent nothing for ${idleTimeoutMs} ms`)), idleTimeoutMs)
        onAbort = () => reject(new ProtocolError('stream aborted', { cause: signal?.reason }))
        signal?.addEventListener('abort', onAbort, { once: true })
      })
    } finally {
      this.wake = undefined
      clearTimeout(timer)
      if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort)
    }
    if (this.failure !== undefined) throw this.failure
    return true // woken by data or by the end; the next call tells which
  }

  /**
   * Reads nothing more, for good: the stream is paused, so the muxer grants the peer no
   * further window, and its readable end is closed, so what was in flight is dropped on
   * arrival; what was read ahead is dropped too and its reservation given back. A stream
   * refused after this costs the node the bytes of one window at most, whatever its
   * peer goes on sending, and holds no memory while the refusal waits to be read.
   */
  stop (): void {
    if (this.stopped) return
    this.stopped = true
    this.stream.removeEventListener('message', this.onMessage)
    this.listenForRoom(false)
    this.buffer.consume(this.buffer.byteLength)
    this.frameBytes = 0
    this.ended = true
    const status = this.stream.readStatus
    if (status === 'readable' || status === 'paused') {
      // pause first: closing the readable end alone drops bytes but yamux still grants window for them
      this.stream.pause()
      this.stream.closeRead().catch(() => {})
    }
    this.reservation?.resize(0)
    this.wake?.()
  }

  private readonly onMessage = (event: StreamMessageEvent): void => {
    this.buffer.append(event.data)
    // the bytes were within the window reserved for them; renewing it (yamux does, once
    // this returns) is what may fail
    if (!this.resuming) {
      this.granting = true
      try {
        this.settle()
      } finally {
        this.granting = false
      }
    }
    this.wake?.()
  }

  private readonly onEnd = (): void => {
    this.ended = true
    this.wake?.()
  }

  private readonly onClose = (event: StreamCloseEvent): void => {
    if (event.error !== undefined) this.failure ??= event.error
    this.ended = true
    this.listenForRoom(false)
    this.wake?.()
  }

  /** What must be reserved for the stream to be readable: what it holds (or its frame), plus the window. */
  private target (): number {
    // a peer that has finished sends nothing more: what it sent is all there is to hold
    return this.ended ? this.heldBytes : Math.max(this.heldBytes, this.frameBytes) + this.grantable()
  }

  /**
   * What the peer may send unread: what yamux granted, or before it may grant more (in
   * a message event, or while paused: resuming renews the window) what it may grant.
   */
  private grantable (): number {
    return grantableBytes(this.stream, this.maxWindow, this.granting || this.stream.readStatus === 'paused')
  }

  /** Grows the reservation to the target; the refusal if it cannot (nothing changes then). */
  private grow (): Refusal | undefined {
    const reservation = this.reservation
    if (reservation === undefined || reservation.bytes >= this.target()) return undefined
    return reservation.resize(this.target())
  }

  /** Fits the reservation to the target and pauses or resumes the stream to match. */
  private settle (): void {
    if (this.stopped) return
    if (this.reservation !== undefined) {
      if (this.reservation.bytes > this.target()) this.reservation.resize(this.target())
      this.starved = this.grow()
      this.listenForRoom(this.starved !== undefined && !this.ended)
    }
    const readable = this.starved === undefined && this.buffer.byteLength < this.init.highWaterBytes
    if (readable) this.resume()
    else if (this.stream.readStatus === 'readable') this.stream.pause()
  }

  /** While starved, every release in the budget is a chance to grow again (after the releaser's turn). */
  private listenForRoom (listen: boolean): void {
    if (listen) {
      this.stopWaiting ??= this.init.budget?.onRelease(() => queueMicrotask(() => this.settle()))
    } else {
      this.stopWaiting?.()
      this.stopWaiting = undefined
    }
  }

  private resume (): void {
    if (this.stream.readStatus !== 'paused') return
    // libp2p dispatches its paused buffer inside resume() and only then tells yamux to
    // grant window: a pause from that dispatch would be undone, so it waits until after
    this.resuming = true
    try {
      this.stream.resume()
    } finally {
      this.resuming = false
    }
    if (this.buffer.byteLength > 0) this.settle()
  }
}

/** What @chainsafe/libp2p-yamux 8 keeps on a stream about its receive window (stream.js). */
interface YamuxReceiveWindow { recvWindow: number, recvWindowCapacity: number, maxStreamWindowSize: number, epochStart: number, getRTT: () => number }

/**
 * The most the peer may have in flight on `stream`, at most `max`: what yamux granted,
 * or with `update` what it may have granted after its next window update. Yamux grants
 * a stream 256 KiB at first and doubles its window (to its maximum) only at an update
 * that comes within four round trips of the last: reserving the maximum from the start
 * let idle streams, which cannot send more than they were granted, hold four times what
 * they could use. Updates follow each arrival (after the message event this reader
 * pauses in) and each resume (after the reservation grew), so the bound is reserved
 * before the grant. Other muxers: `max`.
 */
function grantableBytes (stream: Stream, max: number, update: boolean): number {
  const y = stream as unknown as Partial<YamuxReceiveWindow>
  if (typeof y.recvWindow !== 'number' || typeof y.recvWindowCapacity !== 'number' || typeof y.maxStreamWindowSize !== 'number' ||
    typeof y.epochStart !== 'number' || typeof y.getRTT !== 'function') return max
  if (!update) return Math.min(max, y.recvWindowCapacity)
  const rtt = y.getRTT()
  const mayDouble = rtt > -1 && Date.now() - y.epochStart <= rtt * 4
  return Math.min(max, mayDouble ? Math.min(2 * y.recvWindow, y.maxStreamWindowSize) : y.recvWindow)
}

/** The refusal a peer reads: which budget is full, never whose. */
function readAheadRefused (refusal: Refusal): Error {
  return new BusyError(`no room for what the stream may send next (the ${refusal.scope.replace(/:.*$/u, '')} memory budget is full); retry later`)
}
