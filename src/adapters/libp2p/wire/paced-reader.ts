import type { Stream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface'
import { Uint8ArrayList } from 'uint8arraylist'
import { PeerTimeoutError, ProtocolError } from '../../../domain/protocol/federation-errors.ts'

/**
 * What a paused stream may still receive: the bytes the peer already had window for.
 * Must exceed the muxer's largest stream window (yamux: 16 MiB), or an honest peer
 * that was pipelining when we paused has its stream reset for it.
 */
const MAX_PAUSED_READ_BYTES = 32 * 1024 * 1024

/**
 * The bytes a peer sent that we have not read yet, held to a bound. Iterating a libp2p
 * stream never pauses it: yamux grants window as data arrives, so a peer could fill our
 * memory while our reader is busy. Once `highWaterBytes` are unread this pauses the
 * stream (yamux stops granting window) and resumes it when the reader wants more.
 */
export class PacedReader {
  readonly buffer = new Uint8ArrayList()
  private readonly stream: Stream
  private readonly highWaterBytes: number
  private ended: boolean
  private failure: Error | undefined
  private wake: (() => void) | undefined

  constructor (stream: Stream, highWaterBytes: number) {
    this.stream = stream
    this.highWaterBytes = highWaterBytes
    this.ended = stream.readableEnded
    stream.maxReadBufferLength = Math.max(stream.maxReadBufferLength, MAX_PAUSED_READ_BYTES)
    stream.addEventListener('message', this.onMessage)
    stream.addEventListener('end', this.onEnd)
    stream.addEventListener('close', this.onClose)
  }

  /** Drops `bytes` read bytes from the front and lets the peer send again if there is room. */
  consume (bytes: number): void {
    this.buffer.consume(bytes)
    if (this.buffer.byteLength < this.highWaterBytes) this.resume()
  }

  /**
   * Waits until something arrived (true) or returns false when the peer has finished; throws
   * the stream's error when it was reset, PeerTimeoutError after `idleTimeoutMs` of
   * silence or when `signal` fires.
   */
  async more (idleTimeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (this.failure !== undefined) throw this.failure
    if (this.ended) return false
    if (signal?.aborted === true) throw new ProtocolError('stream aborted', { cause: signal.reason })
    this.resume()
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

  private readonly onMessage = (event: StreamMessageEvent): void => {
    this.buffer.append(event.data)
    if (this.buffer.byteLength >= this.highWaterBytes && this.stream.readStatus === 'readable') this.stream.pause()
    this.wake?.()
  }

  private readonly onEnd = (): void => {
    this.ended = true
    this.wake?.()
  }

  private readonly onClose = (event: StreamCloseEvent): void => {
    if (event.error !== undefined) this.failure ??= event.error
    this.ended = true
    this.wake?.()
  }

  private resume (): void {
    if (this.stream.readStatus === 'paused') this.stream.resume()
  }
}
