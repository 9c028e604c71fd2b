import { defineError } from '../../errors.ts'

// Failures of federation requests, each with its own wire code (protocol-spec/quloud.proto).

/** The proof did not verify for the challenge's context. */
export const InvalidProofError = defineError('InvalidProofError', 'invalid-proof')
/** The requesting peer is over its storage quota on that node. */
export const QuotaExceededError = defineError('QuotaExceededError', 'quota-exceeded')
/** The storage node's offered capacity is used up. */
export const CapacityFullError = defineError('CapacityFullError', 'capacity-full')
/** A frame could not be decoded or holds an invalid value for its state. */
export const MalformedMessageError = defineError('MalformedMessageError', 'malformed')
/** The challenge or session expired. */
export const ExpiredError = defineError('ExpiredError', 'expired')
/** A rate or concurrency limit was reached. */
export const BusyError = defineError('BusyError', 'busy')
/** The chunk id is not the hash of the data. */
export const ChunkIdMismatchError = defineError('ChunkIdMismatchError', 'id-mismatch')
/** The peer speaks another major version of the protocol (a v1 peer reached a v2 node, or the reverse). */
export const UnsupportedVersionError = defineError('UnsupportedVersionError', 'unsupported-version')
/** The remote node failed internally, or answered with a code this version does not know. */
export const RemoteInternalError = defineError('RemoteInternalError', 'internal')
/** The peer broke the protocol: closed early, stalled, or sent an unexpected message. */
export const ProtocolError = defineError('ProtocolError', 'protocol')
/** A storage node's receipt is not signed by it or does not match the request. */
export const InvalidReceiptError = defineError('InvalidReceiptError', 'invalid-receipt')
/** No stream could be opened to the peer: no address, refused, dial timed out, or the protocol is not spoken. */
export const PeerUnreachableError = defineError('PeerUnreachableError', 'peer-unreachable')
// The two below are kinds of ProtocolError so that stream handlers, which give up on a
// broken stream without answering, treat them as before; clients can tell them apart.
/** The stream was reset, or the peer closed it or its connection, while a request was outstanding. */
export const ConnectionLostError = defineError('ConnectionLostError', 'connection-lost', ProtocolError)
/** The peer sent nothing for longer than the idle timeout while an answer was due. */
export const PeerTimeoutError = defineError('PeerTimeoutError', 'peer-timeout', ProtocolError)
