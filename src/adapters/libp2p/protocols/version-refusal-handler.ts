import type { Startable } from '@libp2p/interface'
import { UnsupportedVersionError } from '../../../domain/protocol/federation-errors.ts'
import type { Logger } from '../../../ports/logger.ts'
import { MAX_CONTROL_FRAME_BYTES, MAX_INBOUND_V1_STREAMS_PER_CONNECTION } from '../wire/constants.ts'
import { SessionResponseCodec, StoreResponseCodec } from '../wire/messages.ts'
import type { PeerLimits } from './peer-limits.ts'
import { serveStream, type ProtocolHost } from './serve-stream.ts'

export interface VersionRefusalHandlerInit {
  host: ProtocolHost
  limits: PeerLimits
  log: Logger
  /** The old protocol id answered, e.g. `/quloud/store/1.0.0`. */
  protocol: string
  /** The id this node speaks instead, named in the refusal. */
  current: string
  /**
   * Which response message frames the refusal: `store` for StoreResponse, `session` for
   * SessionResponse. Their `error` fields kept their numbers from v1, so an old peer
   * decodes the frame with its own schema.
   */
  response: 'store' | 'session'
}

/**
 * Answers an old major version of a protocol with one UNSUPPORTED_VERSION error frame,
 * without reading a byte of the request, then closes (protocol-spec/README.md,
 * "Versioning"). An old peer so learns why it fails rather than failing over from node
 * to node as if each were unreachable. The stream counts against the peer's stream
 * limit like any other, and is reset after the usual grace if the peer keeps it open.
 */
export class VersionRefusalHandler implements Startable {
  private readonly init: VersionRefusalHandlerInit

  constructor (init: VersionRefusalHandlerInit) {
    this.init = init
  }

  async start (): Promise<void> {
    const { host, limits, log, protocol, current, response } = this.init
    await host.handle(protocol, async (stream, connection) => serveStream(stream, connection, {
      limits,
      log,
      maxFrameBytes: MAX_CONTROL_FRAME_BYTES,
      refuse: async (framed, error) => response === 'store'
        ? framed.write(StoreResponseCodec, { error })
        : framed.write(SessionResponseCodec, { error })
    }, async () => {
      throw new UnsupportedVersionError(`this node speaks Quloud protocol v2 (${current}); upgrade`)
    }), { maxInboundStreams: MAX_INBOUND_V1_STREAMS_PER_CONNECTION })
  }

  async stop (): Promise<void> {
    await this.init.host.unhandle(this.init.protocol)
  }
}
