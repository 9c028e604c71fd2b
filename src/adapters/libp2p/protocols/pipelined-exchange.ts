import { ProtocolError } from '../../../domain/protocol/federation-errors.ts'
import type { FramedStream } from '../wire/framed-stream.ts'
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
  private readonly pending: Array<{ resolve: (res: Res) => void, reject: (err: Error) => void }> = []
  private writing: Promise<void> = Promise.resolve()
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

  async exchange (request: Req): Promise<Res> {
    if (this.failure !== undefined) throw this.failure
    const answer = new Promise<Res>((resolve, reject) => this.pending.push({ resolve, reject }))
    // writes are chained so frames never interleave
    this.writing = this.writing.then(async () => this.framed.write(this.requests, request)).catch((err) => this.fail(err))
    if (!this.reading) void this.readLoop()
    return answer
  }

  fail (err: Error): void {
    this.failure ??= err
    for (const waiter of this.pending.splice(0)) waiter.reject(this.failure)
    this.framed.abort(this.failure)
  }

  private async readLoop (): Promise<void> {
    this.reading = true
    try {
      while (this.pending.length > 0) {
        const response = await this.framed.read(this.responses)
        if (response === undefined) throw new ProtocolError('the storage node closed the stream with requests outstanding')
        this.pending.shift()?.resolve(response)
      }
    } catch (err) {
      this.fail(err as Error)
    } finally {
      this.reading = false
    }
  }
}
