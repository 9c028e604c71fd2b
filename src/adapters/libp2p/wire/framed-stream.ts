import type { Stream } from '@libp2p/interface'
import { Uint8ArrayList } from 'uint8arraylist'
import { TooLargeError } from '../../../errors.ts'
import type { MessageCodec } from './messages.ts'
import { ConnectionLostError, MalformedMessageError, PeerTimeoutError } from '../../../domain/protocol/federation-errors.ts'
import { PacedReader } from './paced-reader.ts'
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
    this.reader = new PacedReader(stream, 2 * (init.maxFrameBytes + MAX_VARINT_BYTES))
  }

  /** The next message, or undefined when the peer closed its side at a frame boundary. */
  async read<T> (codec: MessageCodec<T>, maxFrameBytes = this.init.maxFrameBytes): Promise<T | undefined> {
    const frame = await this.readFrame(maxFrameBytes)
    return frame === undefined ? undefined : codec.decode(await receivePaced(frame, this.init.signal))
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
    await sendPaced(this.stream, new Uint8ArrayList(...frame.parts), this.init.signal)
  }

  /** Half-closes our side once everything written has gone out. */
  async close (): Promise<void> {
    await this.stream.close({ signal: AbortSignal.timeout(this.init.idleTimeoutMs) }).catch((err) => { this.stream.abort(err) })
  }

  abort (err: Error): void {
    this.stream.abort(err)
  }

  private async readFrame (maxFrameBytes: number): Promise<Uint8Array | undefined> {
    const buffer = this.reader.buffer
    let length: number | undefined
    let prefix = 0
    // set by the frame's first byte: a peer trickling a byte every idle timeout less a
    // second would otherwise hold the stream (and the request waiting on it) for its lifetime
    let deadline: number | undefined
    for (;;) {
      if (deadline === undefined && buffer.byteLength > 0) deadline = Date.now() + (this.init.frameDeadlineMs ?? FRAME_MIN_DEADLINE_MS)
      if (length === undefined) {
        const decoded = decodeVarint(buffer)
        if (decoded === 'overlong') throw new MalformedMessageError('frame length prefix is not a valid varint')
        if (decoded !== undefined) {
          ;[length, prefix] = decoded
          if (length > maxFrameBytes) throw new TooLargeError(`frame of ${length} bytes exceeds the ${maxFrameBytes}-byte limit`)
          deadline = (deadline ?? Date.now()) + Math.ceil(length / FRAME_MIN_BYTES_PER_MS)
        }
      }
      if (length !== undefined && buffer.byteLength >= prefix + length) {
        const frame = buffer.subarray(prefix, prefix + length)
        this.reader.consume(prefix + length)
        return frame
      }
      const left = deadline === undefined ? this.init.idleTimeoutMs : deadline - Date.now()
      const tooSlow = (): Error => new PeerTimeoutError('the peer is sending a frame too slowly (below 16 KiB/s, or over 30 s for a small one)')
      if (left <= 0) throw tooSlow()
      const more = await this.reader.more(Math.min(this.init.idleTimeoutMs, left), this.init.signal).catch((err: unknown) => {
        throw err instanceof PeerTimeoutError && left < this.init.idleTimeoutMs ? tooSlow() : err
      })
      if (!more) {
        if (buffer.byteLength === 0) return undefined
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
