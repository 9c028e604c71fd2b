import { NotFoundError, QuloudError, TooLargeError, UnauthorizedError } from '../../../errors.ts'
import {
  BusyError, CapacityFullError, ChunkIdMismatchError, ExpiredError, InvalidProofError, MalformedMessageError,
  QuotaExceededError, RemoteInternalError
} from '../../../domain/protocol/federation-errors.ts'

type ErrorClass = new (message: string, options?: ErrorOptions) => QuloudError

/** Wire ErrorCode number -> the class a client throws. Index = code (quloud.proto). */
const BY_WIRE_CODE: ErrorClass[] = [
  RemoteInternalError, NotFoundError, UnauthorizedError, InvalidProofError, QuotaExceededError,
  CapacityFullError, MalformedMessageError, TooLargeError, ExpiredError, BusyError, ChunkIdMismatchError
]

const WIRE_CODE_OF_ERROR_CODE = new Map<string, number>(BY_WIRE_CODE.map((Class, index) => [new Class('').code, index]))
// domain and store errors that reach a handler mean the request was bad
WIRE_CODE_OF_ERROR_CODE.set('invalid-input', 6)
WIRE_CODE_OF_ERROR_CODE.set('invalid-chunk-id', 6)
WIRE_CODE_OF_ERROR_CODE.set('invalid-field-element', 6)
WIRE_CODE_OF_ERROR_CODE.set('malformed-proof', 3)

/** The wire code for an error a handler caught; anything unknown is INTERNAL (0). */
export function wireCodeOf (err: unknown): number {
  if (!(err instanceof QuloudError)) return 0
  return WIRE_CODE_OF_ERROR_CODE.get(err.code) ?? 0
}

/** The typed error a client throws for a wire Error message. */
export function errorFromWire (code: number, message: string): QuloudError {
  const Class = BY_WIRE_CODE[code] ?? RemoteInternalError
  return new Class(message === '' ? `remote error ${code}` : message)
}
