import type { Stream } from '@libp2p/interface'
import { Uint8ArrayList } from 'uint8arraylist'
import { TooLargeError } from '../../../errors.ts'
import type { MessageCodec } from './messages.ts'
import { MalformedMessageError, ProtocolError } from '../../../domain/protocol/federation-errors.ts'

export interface FramedStreamInit {
  /** Frames longer than this are refused before any of their bytes are buffered. */
  maxFrameBytes: number
  /** A read that waits longer than this for the next byte fails. */
  idleTimeoutMs: number
  /** Aborts every pending read and write (lifetime limit, node shutdown). */
  signal?: AbortSignal
}

const MAX_VARINT_BYTES = 5 // 2^35 > any frame limit we use

/**
 * Length-prefixed protobuf frames over a libp2p stream: unsigned LEB128 length, then
 * the message. Reads are bounded in size and in time; writes wait for drain, so a slow
 * reader applies back-pressure instead of filling memory.
 */
export class FramedStream {
  readonly stream: Stream
  private readonly init: FramedStreamInit
  private readonly buffer = new Uint8ArrayList()
  private readonly source: AsyncIterator<Uint8Array | Uint8ArrayList>
  private ended = false

  constructor (stream: Stream, init: FramedStreamInit) {
    this.stream = stream
    this.init = init
    this.source = stream[Symbol.asyncIterator]()
  }

  /** The next message, or undefined when the peer closed its side at a frame boundary. */
  async read<T> (codec: MessageCodec<T>, maxFrameBytes = this.init.maxFrameBytes): Promise<T | undefined> {
    const frame = await this.readFrame(maxFrameBytes)
    return frame === undefined ? undefined : codec.decode(frame)
  }

  async write<T> (codec: MessageCodec<T>, message: T): Promise<void> {
    const payload = codec.encode(message)
    const frame = new Uint8ArrayList(encodeVarint(payload.byteLength), payload)
    if (!this.stream.send(frame)) await this.stream.onDrain({ signal: this.init.signal })
  }

  /** Half-closes our side once everything written has gone out. */
  async close (): Promise<void> {
    await this.stream.close({ signal: AbortSignal.timeout(this.init.idleTimeoutMs) }).catch((err) => { this.stream.abort(err) })
  }

  abort (err: Error): void {
    this.stream.abort(err)
  }

  private async readFrame (maxFrameBytes: number): Promise<Uint8Array | undefined> {
    let length: number | undefined
    let prefix = 0
    for (;;) {
      if (length === undefined) {
        const decoded = decodeVarint(this.buffer)
        if (decoded === 'overlong') throw new MalformedMessageError('frame length prefix is not a valid varint')
        if (decoded !== undefined) {
          ;[length, prefix] = decoded
          if (length > maxFrameBytes) throw new TooLargeError(`frame of ${length} bytes exceeds the ${maxFrameBytes}-byte limit`)
        }
      }
      if (length !== undefined && this.buffer.byteLength >= prefix + length) {
        const frame = this.buffer.subarray(prefix, prefix + length)
        this.buffer.consume(prefix + length)
        return frame
      }
      if (!await this.pull()) {
        if (this.buffer.byteLength === 0) return undefined
        throw new ProtocolError('the peer closed the stream in the middle of a frame')
      }
    }
  }

  /** Appends the next chunk from the stream; false at end of stream. */
  private async pull (): Promise<boolean> {
    if (this.ended) return false
    const signal = this.init.signal
    if (signal?.aborted === true) throw new ProtocolError('stream aborted', { cause: signal.reason })
    let timer: ReturnType<typeof setTimeout> | undefined
    let onAbort: (() => void) | undefined
    const stop = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new ProtocolError(`the peer sent nothing for ${this.init.idleTimeoutMs} ms`)), this.init.idleTimeoutMs)
      onAbort = () => reject(new ProtocolError('stream aborted', { cause: signal?.reason }))
      signal?.addEventListener('abort', onAbort, { once: true })
    })
    try {
      const next = await Promise.race([this.source.next(), stop])
      if (next.done === true) {
        this.ended = true
        return false
      }
      this.buffer.append(next.value)
      return true
    } finally {
      clearTimeout(timer)
      if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort)
    }
  }
}

function encodeVarint (value: number): Uint8Array {
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
