import type { Libp2p, PeerId } from '@libp2p/interface'
import { errorFromWire } from '../wire/wire-errors.ts'
import { IDLE_TIMEOUT_MS, MAX_CONTROL_FRAME_BYTES, STORE_PROTOCOL } from '../wire/constants.ts'
import { FramedStream } from '../wire/framed-stream.ts'
import { StoreRequestCodec, StoreResponseCodec, type Receipt, type StoreRequest, type StoreResponse } from '../wire/messages.ts'
import { PipelinedExchange } from './pipelined-exchange.ts'
import { verifyReceipt } from './receipt-signer.ts'

/**
 * A store stream to one storage node. `store` may be called concurrently; requests are
 * pipelined on the stream. Each resolves to the node's verified receipt or rejects with
 * the typed error the node answered (QuotaExceededError, CapacityFullError…).
 */
export class StoreClient {
  private readonly peer: PeerId
  private readonly framed: FramedStream
  private readonly exchange: PipelinedExchange<StoreRequest, StoreResponse>

  private constructor (peer: PeerId, framed: FramedStream) {
    this.peer = peer
    this.framed = framed
    this.exchange = new PipelinedExchange(framed, StoreRequestCodec, StoreResponseCodec)
  }

  static async open (host: Pick<Libp2p, 'dialProtocol'>, peer: PeerId, options: { signal?: AbortSignal, idleTimeoutMs?: number } = {}): Promise<StoreClient> {
    const stream = await host.dialProtocol(peer, STORE_PROTOCOL, { signal: options.signal ?? AbortSignal.timeout(IDLE_TIMEOUT_MS) })
    return new StoreClient(peer, new FramedStream(stream, { maxFrameBytes: MAX_CONTROL_FRAME_BYTES, idleTimeoutMs: options.idleTimeoutMs ?? IDLE_TIMEOUT_MS, signal: options.signal }))
  }

  get inFlight (): number {
    return this.exchange.inFlight
  }

  async store (request: StoreRequest): Promise<Receipt> {
    const response = await this.exchange.exchange(request)
    if (response.error !== undefined) throw errorFromWire(response.error.code, response.error.message)
    await verifyReceipt(response.receipt, this.peer, { chunkId: request.chunkId, commitment: request.commitment, kind: 'stored' })
    return response.receipt
  }

  async close (): Promise<void> {
    await this.framed.close()
  }
}
