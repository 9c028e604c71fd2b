import type { Connection, Libp2p, Stream } from '@libp2p/interface'
import { QuloudError } from '../../../errors.ts'
import { ProtocolError } from '../../../domain/protocol/federation-errors.ts'
import type { Logger } from '../../../ports/logger.ts'
import { FramedStream } from '../wire/framed-stream.ts'
import { IDLE_TIMEOUT_MS, MAX_STREAM_LIFETIME_MS } from '../wire/constants.ts'
import { wireCodeOf } from '../wire/wire-errors.ts'
import { WriteStalledError } from '../wire/send-with-back-pressure.ts'
import type { WireError } from '../wire/messages.ts'
import type { PeerLimits } from './peer-limits.ts'
import type { StreamResources } from './stream-resources.ts'
import type { StreamBudget } from '../../../domain/resources/resource-budget.ts'

const REFUSAL_GRACE_MS = 2000

/** The parts of the libp2p node a protocol handler needs. */
export type ProtocolHost = Pick<Libp2p, 'handle' | 'unhandle' | 'peerId'>

export interface ServeOptions {
  limits: PeerLimits
  /**
   * The node's resource budget: when given, it admits the stream (in place of the
   * limits' per-peer stream cap) and the stream's frames and responses are reserved from it.
   */
  resources?: StreamResources
  log: Logger
  maxFrameBytes: number
  idleTimeoutMs?: number
  /** The least time a frame may take (FramedStream's `frameDeadlineMs`; its default unset). */
  frameDeadlineMs?: number
  /** Writes a refusal in the protocol's own response message. */
  refuse: (framed: FramedStream, error: WireError) => Promise<void>
}

/**
 * Runs one inbound stream's conversation with the limits every Quloud protocol shares:
 * per-peer stream cap, idle and lifetime timeouts, and a typed refusal on the wire
 * (plus a log line) for anything that goes wrong. Never throws: a peer cannot crash
 * the node or leave a stream open.
 */
export async function serveStream (
  stream: Stream,
  connection: Connection,
  options: ServeOptions,
  conversation: (framed: FramedStream, peer: string) => Promise<void>
): Promise<void> {
  const peer = connection.remotePeer.toString()
  const lifetime = AbortSignal.timeout(MAX_STREAM_LIFETIME_MS)
  const frameLimits = { maxFrameBytes: options.maxFrameBytes, idleTimeoutMs: options.idleTimeoutMs ?? IDLE_TIMEOUT_MS, signal: lifetime, frameDeadlineMs: options.frameDeadlineMs }
  // one FramedStream per stream, made once admitted: each has a reader of its own,
  // and a second one would buffer (and pause the stream for) bytes nobody reads
  let framed: FramedStream | undefined
  let release: (() => void) | undefined
  try {
    const admitted = admit(stream, connection, options)
    release = admitted.release
    // a budgeted stream reserves its frames, and ends when a write does not drain in time
    framed = new FramedStream(stream, admitted.budget === undefined
      ? frameLimits
      : { ...frameLimits, budget: admitted.budget, writeDrainTimeoutMs: options.resources?.writeDrainTimeoutMs, onSlowFrame: () => options.resources?.penalise(connection) })
    await conversation(framed, peer)
    await framed.close()
    options.limits.served(stream.protocol ?? 'unknown', 'ok')
  } catch (err) {
    const answering = framed ?? new FramedStream(stream, frameLimits)
    // a refused stream is not read again: before, a stream refused over budget went on
    // reading what its peer sent (a whole 1 MiB frame) through the grace period, and an
    // attacker reopening refused streams made the node decrypt ~100 MB/s it then dropped
    answering.stopReading()
    if (err instanceof WriteStalledError) {
      // it reads nothing: a refusal would only wait behind what it has not read
      options.log.info(`dropped ${stream.protocol ?? 'stream'} from ${peer}: ${err.message}`)
      answering.abort(err)
      return
    }
    const code = wireCodeOf(err)
    const message = err instanceof QuloudError ? err.message : 'internal error'
    if (code === 0 && !(err instanceof ProtocolError)) {
      options.limits.served(stream.protocol ?? 'unknown', 'internal')
      options.log.error(`${stream.protocol ?? 'stream'} from ${peer} failed`, err)
    } else {
      options.limits.served(stream.protocol ?? 'unknown', (err as QuloudError).code)
      options.log.info(`refused ${stream.protocol ?? 'stream'} from ${peer}: ${(err as QuloudError).code}: ${message}`)
    }
    try {
      if (!(err instanceof ProtocolError)) {
        await options.refuse(answering, { code, message, chunkId: '' })
      }
      await answering.close()
    } catch {
      // the peer is gone or not reading: nothing more to say
    }
    // A stream its peer reset has closed already: its 'close' came before we could listen
    // for it, so a grace timer would run its full course, holding the stream, and with it
    // what the muxer had not yet sent (libp2p keeps the write buffer of a stream reset by
    // its peer): the rest of a chunk whose reservation its failed write gave back. A peer
    // resetting streams mid-answer kept ~1 MiB each live, uncounted, for the grace period.
    if (stream.status !== 'open' && stream.status !== 'closing') return
    // we read no further: a peer that has not closed its side soon gets the stream reset,
    // after a grace period that lets it read our error first
    const reset = setTimeout(() => answering.abort(err instanceof Error ? err : new Error(String(err))), REFUSAL_GRACE_MS)
    reset.unref()
    stream.addEventListener('close', () => clearTimeout(reset), { once: true })
  } finally {
    release?.()
  }
}

/** Admits the stream against the budget (or else the per-peer cap); BusyError when full. */
function admit (stream: Stream, connection: Connection, options: ServeOptions): { release: () => void, budget?: StreamBudget } {
  if (options.resources === undefined) return { release: options.limits.openStream(connection.remotePeer.toString()) }
  const budget = options.resources.open(connection, stream.protocol ?? 'unknown', stream)
  return { release: () => { budget.close() }, budget }
}
