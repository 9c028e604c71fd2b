import type { Connection, PrivateKey, Startable, Stream } from '@libp2p/interface'
import type { StorageService } from '../../../app/storage-service.ts'
import { isErrorOf, QuloudError, StorageError } from '../../../errors.ts'
import { ProtocolError } from '../../../domain/protocol/federation-errors.ts'
import type { Logger } from '../../../ports/logger.ts'
import { MAX_DATA_FRAME_BYTES, MAX_INBOUND_STREAMS_PER_CONNECTION, REQUESTS_IN_PROGRESS_PER_STREAM, STORE_PROTOCOL } from '../wire/constants.ts'
import { StoreRequestCodec, StoreResponseCodec, type StoreResponse } from '../wire/messages.ts'
import { wireCodeOf } from '../wire/wire-errors.ts'
import type { PeerLimits } from './peer-limits.ts'
import { respondInOrder } from './ordered-responder.ts'
import { signReceipt } from './receipt-signer.ts'
import { serveStream, type ProtocolHost } from './serve-stream.ts'
import { admissionSubnetOf } from '../../../domain/membership/subnet.ts'

export interface StoreHandlerInit {
  host: ProtocolHost
  privateKey: PrivateKey
  storage: StorageService
  limits: PeerLimits
  log: Logger
  /** Silence after which a stream is dropped (default IDLE_TIMEOUT_MS). */
  idleTimeoutMs?: number
}

/**
 * `/quloud/store/2.0.0` (protocol-spec/store.md): a peer sends StoreRequests, one
 * StoreResponse answers each, in order. A refused request (quota, capacity, id
 * mismatch…) is answered with its error and the stream goes on; a broken frame ends it.
 */
export class StoreHandler implements Startable {
  private readonly init: StoreHandlerInit

  constructor (init: StoreHandlerInit) {
    this.init = init
  }

  async start (): Promise<void> {
    await this.init.host.handle(STORE_PROTOCOL, async (stream, connection) => this.onStream(stream, connection), {
      maxInboundStreams: MAX_INBOUND_STREAMS_PER_CONNECTION
    })
  }

  async stop (): Promise<void> {
    await this.init.host.unhandle(STORE_PROTOCOL)
  }

  private async onStream (stream: Stream, connection: Connection): Promise<void> {
    const { storage, limits, log, privateKey, host } = this.init
    await serveStream(stream, connection, {
      limits,
      log,
      idleTimeoutMs: this.init.idleTimeoutMs,
      maxFrameBytes: MAX_DATA_FRAME_BYTES,
      refuse: async (framed, error) => framed.write(StoreResponseCodec, { error })
    }, async (framed, peer) => respondInOrder(
      async () => framed.read(StoreRequestCodec),
      async (request): Promise<StoreResponse> => {
        try {
          limits.charge(peer)
          const record = await storage.store({ ...request, from: peer, ...subnetOf(connection) })
          log.debug(`stored ${request.chunkId} (${request.data.byteLength} B) for ${peer}`)
          // the receipt states the record as it is, whose D may not be the one asked for
          return {
            receipt: await signReceipt(privateKey, host.peerId, {
              kind: 'stored', chunkId: request.chunkId, commitment: record.commitment, deleteCommitment: record.deleteCommitment, timeMs: record.storedAt, bytesRemoved: false
            })
          }
        } catch (err) {
          if (!(err instanceof QuloudError) || isErrorOf(err, [ProtocolError, StorageError])) throw err
          log.info(`refused to store ${request.chunkId.slice(0, 80)} for ${peer}: ${err.code}: ${err.message}`)
          return { error: { code: wireCodeOf(err), message: err.message, chunkId: request.chunkId } }
        }
      },
      async (response) => framed.write(StoreResponseCodec, response),
      REQUESTS_IN_PROGRESS_PER_STREAM
    ))
  }
}

/** The connection's public subnet, under which a stranger's stores are capped together. */
function subnetOf (connection: Connection): { subnet?: string } {
  const subnet = admissionSubnetOf(connection.remoteAddr.toString())
  return subnet === undefined ? {} : { subnet }
}
