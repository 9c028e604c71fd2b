import type { Stream } from '@libp2p/interface'
import { Uint8ArrayList } from 'uint8arraylist'
import { TooLargeError } from '../../../errors.ts'
import type { MessageCodec } from './messages.ts'
import { BusyError, ConnectionLostError, MalformedMessageError, PeerTimeoutError } from '../../../domain/protocol/federation-errors.ts'
import type { Reservation, StreamBudget } from '../../../domain/resources/resource-budget.ts'
import { PacedReader } from './paced-reader.ts'
import { STREAM_WINDOW_BYTES } from './constants.ts'
import { receivePaced, sendPaced } from './traffic-limit.ts'

export interface FramedStreamInit {
  /** Frames longer than this are refused before any of their bytes are buffered. */
  maxFrameBytes: number
  /** A read that waits longer than this for the next byte fails. */
  idleTimeoutMs: number
  /** Aborts every pending read and write (lifetime limit, node shutdown). */
  signal?: AbortSignal
  /** The least time one frame may take from its first byte (default FRAME_MIN_DEADLINE_MS). */
  frameDeadlineMs?: number
  /**
   * The stream's share of the node's resource budget. What the peer can make the reader
   * hold is reserved from it before it arrives: the muxer's window (STREAM_WINDOW_BYTES)
   * from the start, then every byte read ahead and each frame's declared length at its
   * header (a frame that finds no room fails with BusyError, as does a stream whose
   * window finds none); the handler reserves its responses from it too.
   */
  budget?: StreamBudget
  /** A write the peer does not drain within this time fails with PeerTimeoutError. */
  writeDrainTimeoutMs?: number
  /**
   * Told when a frame the peer began does not complete in its time (before the read
   * fails with PeerTimeoutError): the node charges its sender for the wait.
   */
  onSlowFrame?: () => void
}

/** A message read with its frame's bytes still reserved: release once done with it. */
export interface HeldMessage<T> {
  message: T
  release: () => void
}

const MAX_VARINT_BYTES = 5 // 2^35 > any frame limit we use

/** The least time one frame may take, from its first byte to its last. */
export const FRAME_MIN_DEADLINE_MS = 30_000
/** Beyond that, a frame may take as long as it needs at 16 KiB/s (a 1 MiB chunk: 64 s more). */
export const FRAME_MIN_BYTES_PER_MS = 16

/**
 * Length-prefixed protobuf frames over a libp2p stream: unsigned LEB128 length, then
 * the message. Reads are bounded in size and in time, and a peer that sends faster than
 * we read is paused (PacedReader); writes wait for drain, so a slow reader on the other
 * side applies back-pressure instead of filling our memory.
 */
export class FramedStream {
  readonly stream: Stream
  private readonly init: FramedStreamInit
  private readonly reader: PacedReader

  constructor (stream: Stream, init: FramedStreamInit) {
    this.stream = stream
    this.init = init
    // two frames unread (one being parsed, the next arriving) before the peer is paused
    this.reader = new PacedReader(stream, { highWaterBytes: 2 * (init.maxFrameBytes + MAX_VARINT_BYTES), budget: init.budget, windowBytes: STREAM_WINDOW_BYTES })
  }

  /** Bytes the peer has made this stream hold unread (read ahead, or in libp2p's paused buffer). */
  get heldBytes (): number {
    return this.reader.heldBytes
  }

  /** The next message, or undefined when the peer closed its side at a frame boundary. */
  async read<T> (codec: MessageCodec<T>, maxFrameBytes = this.init.maxFrameBytes): Promise<T | undefined> {
    const held = await this.readHeld(codec, maxFrameBytes)
    held?.release()
    return held?.message
  }

  /** `read`, with the frame's reservation kept until the caller releases it (a chunk to store). */
  async readHeld<T> (codec: MessageCodec<T>, maxFrameBytes = this.init.maxFrameBytes): Promise<HeldMessage<T> | undefined> {
    const { frame, reservation } = await this.readFrame(maxFrameBytes)
    if (frame === undefined) return undefined
    try {
      return { message: codec.decode(await receivePaced(frame, this.init.signal)), release: () => reservation?.release() }
    } catch (err) {
      reservation?.release()
      throw err
    }
  }

  /** The stream's budget, for the handler's responses; undefined when the node runs without one. */
  get budget (): StreamBudget | undefined {
    return this.init.budget
  }

  async write<T> (codec: MessageCodec<T>, message: T): Promise<void> {
    await this.writeEncoded(encodeFrame(codec, message))
  }

  /**
   * Writes a frame made once by `encodeFrame`: the same bytes can go out on many
   * streams (one chunk to R holders) without encoding or copying them again.
   */
  async writeEncoded (frame: EncodedFrame): Promise<void> {
    // a fresh list per send: the stream consumes the list it is given, never the bytes
    await sendPaced(this.stream, new Uint8ArrayList(...frame.parts), this.init.signal, this.init.writeDrainTimeoutMs)
  }

  /**
   * Writes `items`' frames in order, joined into as few sends as joinedSends makes.
   * `releaseOf(item)`, what the item held (a handler's reservation), is called once its
   * frame has gone out, or when encoding or writing fails.
   */
  async writeAll<T> (items: readonly T[], frameOf: (item: T) => EncodedFrame, releaseOf?: (item: T) => void): Promise<void> {
    let released = 0
    const releaseUpTo = (count: number): void => {
      while (released < count) releaseOf?.(items[released++]!)
    }
    try {
      let sent = 0
      for (const send of joinedSends(items.map(frameOf))) {
        await this.writeEncoded(send)
        releaseUpTo(sent += send.frames)
      }
    } finally {
      releaseUpTo(items.length)
    }
  }

  /** Half-closes our side once everything written has gone out. */
  async close (): Promise<void> {
    await this.stream.close({ signal: AbortSignal.timeout(this.init.idleTimeoutMs) }).catch((err) => { this.stream.abort(err) })
  }

  abort (err: Error): void {
    this.stream.abort(err)
  }

  /** Reads nothing more (PacedReader.stop): a refusal is written without reading what the peer still sends. */
  stopReading (): void {
    this.reader.stop()
  }

  private async readFrame (maxFrameBytes: number): Promise<{ frame?: Uint8Array, reservation?: Reservation }> {
    const buffer = this.reader.buffer
    let length: number | undefined
    // set by the frame's first byte: a peer trickling a byte every idle timeout less a
    // second would otherwise hold the stream (and the request waiting on it) for its lifetime
    let deadline: number | undefined
    for (;;) {
      if (deadline === undefined && buffer.byteLength > 0) deadline = Date.now() + (this.init.frameDeadlineMs ?? FRAME_MIN_DEADLINE_MS)
      if (length === undefined) {
        const decoded = decodeVarint(buffer)
        if (decoded === 'overlong') throw new MalformedMessageError('frame length prefix is not a valid varint')
        if (decoded !== undefined) {
          const [declared, prefix] = decoded
          if (declared > maxFrameBytes) throw new TooLargeError(`frame of ${declared} bytes exceeds the ${maxFrameBytes}-byte limit`)
          this.reader.consume(prefix)
          // before the body is buffered: a peer holding partial frames on many streams holds only what the budget gave it
          const refusal = this.reader.expect(declared)
          if (refusal !== undefined) throw new BusyError(`no room for a ${declared}-byte frame now (the ${refusal.scope.replace(/:.*$/u, '')} memory budget is full); retry later`)
          length = declared
          deadline = (deadline ?? Date.now()) + Math.ceil(length / FRAME_MIN_BYTES_PER_MS)
        }
      }
      if (length !== undefined && buffer.byteLength >= length) return this.reader.take(length)
      const left = deadline === undefined ? this.init.idleTimeoutMs : deadline - Date.now()
      const tooSlow = (): Error => {
        this.init.onSlowFrame?.()
        return new PeerTimeoutError('the peer is sending a frame too slowly (below 16 KiB/s, or over 30 s for a small one)')
      }
      if (left <= 0) throw tooSlow()
      // a frame begun and then left idle is as slow as one past its deadline: a frame held
      // one byte short of 1 MiB has ~95 s before its deadline, so the 20 s idle timeout
      // always ended it first, and its sender was never charged
      const more = await this.reader.more(Math.min(this.init.idleTimeoutMs, left), this.init.signal).catch((err: unknown) => {
        throw err instanceof PeerTimeoutError && deadline !== undefined ? tooSlow() : err
      })
      if (!more) {
        if (buffer.byteLength === 0 && length === undefined) return {}
        throw new ConnectionLostError('the peer closed the stream in the middle of a frame')
      }
    }
  }
}

/** A message already framed: its length prefix, then its bytes in parts, none copied. */
export interface EncodedFrame {
  readonly parts: readonly Uint8Array[]
  readonly byteLength: number
}

export function encodeFrame<T> (codec: MessageCodec<T>, message: T): EncodedFrame {
  return frameOf([codec.encode(message)])
}

/**
 * The most bytes of frames one send joins. Below the frame, the muxer, Noise and the
 * socket each cost per message, and yamux answers every data frame it receives with a
 * window update: for 20 KiB chunks that cost more than the bytes. Past about this size
 * a message costs by its bytes alone, and a larger one would only make a slow reader's
 * drain wait longer.
 */
export const JOINED_SEND_BYTES = 256 * 1024

/**
 * `frames` in order as few sends as JOINED_SEND_BYTES allows: a run of frames goes out
 * as one message while it fits, a larger frame alone. `frames` of each send says how
 * many it joins. Made as they are taken, so a caller that sends only the first pays for that one.
 */
export function * joinedSends (frames: readonly EncodedFrame[]): Generator<EncodedFrame & { frames: number }> {
  for (let start = 0; start < frames.length;) {
    let end = start + 1
    let bytes = frames[start]!.byteLength
    while (end < frames.length && bytes + frames[end]!.byteLength <= JOINED_SEND_BYTES) bytes += frames[end++]!.byteLength
    yield { parts: frames.slice(start, end).flatMap((frame) => frame.parts), byteLength: bytes, frames: end - start }
    start = end
  }
}

/** Frames a message whose encoding the caller assembled from parts (see encodeStoreRequest). */
export function frameOf (payload: readonly Uint8Array[]): EncodedFrame {
  const length = payload.reduce((sum, part) => sum + part.byteLength, 0)
  const prefix = encodeVarint(length)
  return { parts: [prefix, ...payload], byteLength: prefix.byteLength + length }
}

/**
 * A length-delimited protobuf field (wire type 2) as parts: tag, length, then `parts`
 * themselves, uncopied. A message is encoded around a large bytes field this way, so
 * the bytes go out as the caller's buffer. An empty bytes field is left out, as the
 * codec leaves it out (proto3 default).
 */
export function lengthDelimitedField (field: number, parts: readonly Uint8Array[], { omitEmpty = false } = {}): Uint8Array[] {
  const length = parts.reduce((sum, part) => sum + part.byteLength, 0)
  if (omitEmpty && length === 0) return []
  return [Uint8Array.of((field << 3) | 2), encodeVarint(length), ...parts]
}

/** Unsigned LEB128, as frame prefixes and protobuf lengths use it. */
export function encodeVarint (value: number): Uint8Array {
  const out: number[] = []
  while (value >= 0x80) {
    out.push((value & 0x7f) | 0x80)
    value = Math.floor(value / 128)
  }
  out.push(value)
  return Uint8Array.from(out)
}

/** [value, bytes used], undefined when more bytes are needed, 'overlong' when invalid. */
function decodeVarint (list: Uint8ArrayList): [number, number] | undefined | 'overlong' {
  let value = 0
  for (let i = 0; i < Math.min(list.byteLength, MAX_VARINT_BYTES); i++) {
    const byte = list.get(i)
    value += (byte & 0x7f) * 2 ** (7 * i)
    if ((byte & 0x80) === 0) return [value, i + 1]
  }
  return list.byteLength >= MAX_VARINT_BYTES ? 'overlong' : undefined
}
