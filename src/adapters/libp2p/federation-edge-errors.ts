import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { ConnectionLostError, PeerUnreachableError } from '../../domain/protocol/federation-errors.ts'
import { AbortError, InvalidInputError, QuloudError } from '../../errors.ts'

// Where libp2p meets the FederationClient port: nothing libp2p throws goes further
// than these functions; each becomes the port's class for that failure, cause kept.

/** The caller's abort, if any of the signals has fired. */
function aborted (err: unknown, signals: Array<AbortSignal | undefined>): AbortError | undefined {
  const signal = signals.find((s) => s?.aborted === true)
  if (signal === undefined) return undefined
  return err instanceof AbortError ? err : new AbortError('the operation was aborted', { cause: signal.reason ?? err })
}

/** A failed dial (or protocol negotiation): AbortError when the caller gave up, else PeerUnreachableError. */
export function dialFailure (err: unknown, peer: string, signal?: AbortSignal): QuloudError {
  return aborted(err, [signal]) ?? new PeerUnreachableError(`cannot open a stream to ${peer}: ${(err as Error)?.message ?? String(err)}`, { cause: err })
}

/**
 * A failed request on an open stream. Quloud errors (the node's typed refusals, our
 * own checks, ConnectionLostError and PeerTimeoutError from the framing) pass as they
 * are; anything else came from the transport (reset, closed connection, a write on
 * a dead stream) and is a lost connection.
 */
export function requestFailure (err: unknown, peer: string, signals: Array<AbortSignal | undefined>): QuloudError {
  return aborted(err, signals) ??
    (err instanceof QuloudError ? err : new ConnectionLostError(`the stream to ${peer} broke: ${(err as Error)?.message ?? String(err)}`, { cause: err }))
}

/** The peer id a caller named; InvalidInputError for anything else. */
export function parsePeerId (peer: string): PeerId {
  try {
    return peerIdFromString(peer)
  } catch (err) {
    throw new InvalidInputError(`not a peer id: ${peer.slice(0, 80)}`, { cause: err })
  }
}
