import { ConnectionLostError } from '../../../domain/protocol/federation-errors.ts'
import { encodeFrame, joinedSends, type EncodedFrame, type FramedStream } from '../wire/framed-stream.ts'
import type { MessageCodec } from '../wire/messages.ts'

/**
 * Request/response over one framed stream where responses come back in request order:
 * concurrent `exchange` calls are written at once and matched to responses FIFO, so a
 * client keeps several requests in flight on one stream (pipelining) without a
 * request id on the wire.
 */
export class PipelinedExchange<Req, Res> {
  private readonly framed: FramedStream
  private readonly requests: MessageCodec<Req>
  private readonly responses: MessageCodec<Res>
  private readonly pending: Array<{ resolve: (res: Res) => void, reject: (err: Error) => void, maxBytes?: number }> = []
  /** Frames waiting to be written: those queued in one turn of the event loop go out in one send. */
  private readonly queued: EncodedFrame[] = []
  private writing = false
  private reading = false
  private failure: Error | undefined

  constructor (framed: FramedStream, requests: MessageCodec<Req>, responses: MessageCodec<Res>) {
    this.framed = framed
    this.requests = requests
    this.responses = responses
  }

  get inFlight (): number {
    return this.pending.length
  }

  /** `maxAnswerBytes`: the largest answer this request may have (default the stream's frame limit); a larger one fails the exchange. */
  async exchange (request: Req, maxAnswerBytes?: number): Promise<Res> {
    return this.exchangeEncoded(encodeFrame(this.requests, request), maxAnswerBytes)
  }

  /** `exchange` for a request framed beforehand (the same frame may go to many peers). */
  async exchangeEncoded (frame: EncodedFrame, maxAnswerBytes?: number): Promise<Res> {
    if (this.failure !== undefined) throw this.failure
    const answer = new Promise<Res>((resolve, reject) => this.pending.push({ resolve, reject, maxBytes: maxAnswerBytes }))
    this.queued.push(frame)
    if (!this.writing) {
      this.writing = true
      setImmediate(() => { void this.writeLoop() })
    }
    if (!this.reading) void this.readLoop()
    return answer
  }

  fail (err: Error): void {
    this.failure ??= err
    this.queued.length = 0
    for (const waiter of this.pending.splice(0)) waiter.reject(this.failure)
    this.framed.abort(this.failure)
  }

  /**
   * One writer, so frames never interleave. Each send takes the frames queued since the
   * last one, as many as joinedSends joins: a put of small files queues a holder several
   * stores per turn of the event loop.
   */
  private async writeLoop (): Promise<void> {
    try {
      while (this.queued.length > 0 && this.failure === undefined) {
        const send = joinedSends(this.queued).next().value!
        this.queued.splice(0, send.frames)
        await this.framed.writeEncoded(send)
      }
    } catch (err) {
      this.fail(err as Error)
    } finally {
      this.writing = false
    }
  }

  private async readLoop (): Promise<void> {
    this.reading = true
    try {
      while (this.pending.length > 0) {
        // only answers asked for are read: what a peer sends beyond them waits unread, and
        // the reader pauses the stream, so the peer cannot make us hold more
        const response = await this.framed.read(this.responses, this.pending[0]?.maxBytes)
        if (response === undefined) throw new ConnectionLostError('the storage node closed the stream with requests outstanding')
        this.pending.shift()?.resolve(response)
      }
    } catch (err) {
      this.fail(err as Error)
    } finally {
      this.reading = false
    }
  }
}
