import type { Libp2p, PeerId } from '@libp2p/interface'
import { errorFromWire } from '../wire/wire-errors.ts'
import { IDLE_TIMEOUT_MS, MAX_CONTROL_FRAME_BYTES, STORE_PROTOCOL } from '../wire/constants.ts'
import { frameOf, FramedStream, lengthDelimitedField, type EncodedFrame } from '../wire/framed-stream.ts'
import { StoreRequestCodec, StoreResponseCodec, type Receipt, type StoreRequest, type StoreResponse } from '../wire/messages.ts'
import { PipelinedExchange } from './pipelined-exchange.ts'
import { verifyReceipt } from './receipt-signer.ts'

/** StoreRequest.data's field number (protocol-spec/quloud.proto). */
const DATA_FIELD = 3

/** A StoreRequest framed for the wire; one frame can be stored on any number of nodes. */
export interface EncodedStoreRequest {
  readonly chunkId: string
  readonly commitment: string
  readonly deleteCommitment: string
  readonly leaseCommitment?: string
  readonly frame: EncodedFrame
}

/**
 * Frames a StoreRequest without copying its chunk. protobufjs would copy the data
 * into a new buffer (~1.5 ms per MiB here, once per holder); instead the frame is
 * the codec's encoding of the fields before data (id, commitment), the data field's
 * tag and length, the caller's buffer itself, then the codec's encoding of the fields
 * after it (delete commitment, lease commitment). The codec writes fields in number order, so these are
 * its own bytes (test/store-client.test.ts). The caller must not change `data` until
 * every store of the frame has settled.
 */
export function encodeStoreRequest (request: StoreRequest): EncodedStoreRequest {
  const { chunkId, commitment, deleteCommitment, leaseCommitment, data } = request
  const empty = new Uint8Array(0)
  const lease = leaseCommitment === undefined ? {} : { leaseCommitment }
  const head = StoreRequestCodec.encode({ chunkId, commitment, deleteCommitment: '', data: empty })
  const tail = StoreRequestCodec.encode({ chunkId: '', commitment: '', deleteCommitment, data: empty, ...lease })
  return { chunkId, commitment, deleteCommitment, ...lease, frame: frameOf([head, ...lengthDelimitedField(DATA_FIELD, [data], { omitEmpty: true }), tail]) }
}

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

  /**
   * The room the node stated in its latest answer (protocol-spec/store.md, "Room left"),
   * receipt or refusal; undefined until one stated it. Answers arrive in order, so
   * after a store settles this is that answer's or a later one's.
   */
  roomLeft: number | undefined

  get inFlight (): number {
    return this.exchange.inFlight
  }

  /** Accepts a request framed beforehand by encodeStoreRequest, to frame a chunk once for all its holders. */
  async store (request: StoreRequest | EncodedStoreRequest): Promise<Receipt> {
    const encoded = 'frame' in request ? request : encodeStoreRequest(request)
    const response = await this.exchange.exchangeEncoded(encoded.frame)
    if (response.roomLeft !== undefined) this.roomLeft = response.roomLeft
    if (response.error !== undefined) throw errorFromWire(response.error.code, response.error.message)
    await verifyReceipt(response.receipt, this.peer, { chunkId: request.chunkId, commitment: request.commitment, deleteCommitment: request.deleteCommitment, kind: 'stored' })
    return response.receipt
  }

  async close (): Promise<void> {
    await this.framed.close()
  }
}
