import type { Connection, PrivateKey, Startable, Stream } from '@libp2p/interface'
import type { StorageService } from '../../../app/storage-service.ts'
import { isErrorOf, QuloudError, StorageError } from '../../../errors.ts'
import { CapacityFullError, ProtocolError, QuotaExceededError } from '../../../domain/protocol/federation-errors.ts'
import type { Logger } from '../../../ports/logger.ts'
import { MAX_DATA_FRAME_BYTES, MAX_INBOUND_STREAMS_PER_CONNECTION, REQUESTS_IN_PROGRESS_PER_STREAM, STORE_PROTOCOL } from '../wire/constants.ts'
import { StoreRequestCodec, StoreResponseCodec, type StoreRequest, type StoreResponse } from '../wire/messages.ts'
import { wireCodeOf } from '../wire/wire-errors.ts'
import { encodeFrame } from '../wire/framed-stream.ts'
import type { PeerLimits } from './peer-limits.ts'
import type { StreamResources } from './stream-resources.ts'
import { respondInOrder } from './ordered-responder.ts'
import { signReceipt } from './receipt-signer.ts'
import { serveStream, type ProtocolHost } from './serve-stream.ts'
import { publicSubnetOf } from '../../../domain/membership/subnet.ts'
import type { StorePacing } from './store-pacing.ts'

export interface StoreHandlerInit {
  host: ProtocolHost
  privateKey: PrivateKey
  storage: StorageService
  limits: PeerLimits
  /** The node's resource budget: admits the stream and holds each request's bytes until it is answered. */
  resources?: StreamResources
  log: Logger
  /** Silence after which a stream is dropped (default IDLE_TIMEOUT_MS). */
  idleTimeoutMs?: number
  /** Strangers' stores at the store rate; without it, only allowances and budgets bound them. */
  pacing?: StorePacing
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
    const { limits, log, pacing } = this.init
    // strangers of one direct public subnet share one share; a relayed peer is in none
    // (publicSubnetOf): honest home nodes share relays, and the NAT lab showed a holder
    // refuse an honest put once other relayed strangers had used the relay's share
    const subnet = publicSubnetOf(connection.remoteAddr.toString())
    await serveStream(stream, connection, {
      limits,
      resources: this.init.resources,
      log,
      idleTimeoutMs: this.init.idleTimeoutMs,
      maxFrameBytes: MAX_DATA_FRAME_BYTES,
      refuse: async (framed, error) => framed.write(StoreResponseCodec, { error })
    }, async (framed, peer) => respondInOrder(
      // a request's chunk stays reserved until its answer is written: the window of
      // requests in progress is memory the budget counts, not only a number
      async () => {
        // a paced stranger's next store stays in its own TCP window, not in the node's CPU
        const ticket = await pacing?.beforeRead(connection)
        let held: Awaited<ReturnType<typeof framed.readHeld<StoreRequest>>>
        try {
          held = await framed.readHeld(StoreRequestCodec)
        } finally {
          if (ticket !== undefined) pacing?.settle(connection, ticket, held?.message.data.byteLength)
        }
        return held
      },
      async ({ message: request, release }): Promise<Held<StoreResponse>> => ({ release, response: await this.answer(request, peer, subnet) }),
      async (answers) => framed.writeAll(answers, ({ response }) => encodeFrame(StoreResponseCodec, response), ({ release }) => { release() }),
      REQUESTS_IN_PROGRESS_PER_STREAM
    ))
  }

  private async answer (request: StoreRequest, peer: string, subnet: string | undefined): Promise<StoreResponse> {
    const { storage, limits, log, privateKey, host } = this.init
    try {
      limits.charge(peer)
      const { record, roomLeft } = await storage.storeWeighed({ ...request, from: peer, ...(subnet === undefined ? {} : { subnet }) })
      log.debug(`stored ${request.chunkId} (${request.data.byteLength} B) for ${peer}`)
      // the receipt states the record as it is, whose D may not be the one asked for
      const receipt = await signReceipt(privateKey, host.peerId, {
        kind: 'stored', chunkId: request.chunkId, commitment: record.commitment, deleteCommitment: record.deleteCommitment, timeMs: record.storedAt, bytesRemoved: false
      })
      return { receipt, roomLeft }
    } catch (err) {
      if (!(err instanceof QuloudError) || isErrorOf(err, [ProtocolError, StorageError])) throw err
      log.info(`refused to store ${request.chunkId.slice(0, 80)} for ${peer}: ${err.code}: ${err.message}`)
      limits.refused(STORE_PROTOCOL, err.code)
      const error = { code: wireCodeOf(err), message: err.message, chunkId: request.chunkId }
      // room is worth weighing only where room was the reason; a BUSY flood costs no reads
      return { error, ...isErrorOf(err, [QuotaExceededError, CapacityFullError]) ? await this.roomLeft(peer, subnet) : {} }
    }
  }

  /** The requester's room left, or nothing when it cannot be read now (it is informative). */
  private async roomLeft (peer: string, subnet: string | undefined): Promise<{ roomLeft?: number }> {
    try {
      return { roomLeft: await this.init.storage.roomFor(peer, subnet) }
    } catch {
      return {}
    }
  }
}

interface Held<T> { response: T, release: () => void }
