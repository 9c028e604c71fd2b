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
/** The remote node failed internally, or answered with a code this version does not know. */
export const RemoteInternalError = defineError('RemoteInternalError', 'internal')
/** The peer broke the protocol: closed early, stalled, or sent an unexpected message. */
export const ProtocolError = defineError('ProtocolError', 'protocol')
/** A storage node's receipt is not signed by it or does not match the request. */
export const InvalidReceiptError = defineError('InvalidReceiptError', 'invalid-receipt')
