import { InvalidInputError, isErrorOf, NotFoundError, QuloudError, TooLargeError, UnauthorizedError, type QuloudErrorClass } from '../../../errors.ts'
import {
  BusyError, CapacityFullError, ChunkIdMismatchError, ExpiredError, InvalidProofError, MalformedMessageError,
  QuotaExceededError, RemoteInternalError, UnsupportedVersionError
} from '../../../domain/protocol/federation-errors.ts'
import { InvalidChunkIdError } from '../../../domain/formats/chunk-id.ts'
import { InvalidFieldElementError } from '../../../domain/proofs/field-element.ts'
import { MalformedProofError } from '../../../domain/proofs/groth16-proof.ts'
import { WIRE_ERROR_CODES } from './messages.ts'

/**
 * Wire ErrorCode name (quloud.proto) -> the class a client throws. Keyed by name so a
 * renumbered or reordered enum cannot shift every meaning by one; the numbers come
 * from the schema itself.
 */
export const CLASS_OF_WIRE_NAME: Readonly<Record<string, QuloudErrorClass>> = {
  INTERNAL: RemoteInternalError,
  NOT_FOUND: NotFoundError,
  UNAUTHORIZED: UnauthorizedError,
  INVALID_PROOF: InvalidProofError,
  QUOTA_EXCEEDED: QuotaExceededError,
  CAPACITY_FULL: CapacityFullError,
  MALFORMED: MalformedMessageError,
  TOO_LARGE: TooLargeError,
  EXPIRED: ExpiredError,
  BUSY: BusyError,
  ID_MISMATCH: ChunkIdMismatchError,
  UNSUPPORTED_VERSION: UnsupportedVersionError
}

/** Failures of the request's content found by domain checks, sent as the nearest wire code. */
const ALSO_SENT_AS: ReadonlyArray<[QuloudErrorClass[], string]> = [
  [[InvalidInputError, InvalidChunkIdError, InvalidFieldElementError], 'MALFORMED'],
  [[MalformedProofError], 'INVALID_PROOF']
]

const names = Object.keys(WIRE_ERROR_CODES)
const unmapped = names.filter((name) => CLASS_OF_WIRE_NAME[name] === undefined)
const unknown = Object.keys(CLASS_OF_WIRE_NAME).filter((name) => WIRE_ERROR_CODES[name] === undefined)
// a schema and a table that disagree would send wrong codes; refuse to load instead
if (unmapped.length > 0 || unknown.length > 0) {
  throw new Error(`wire error table out of step with quloud.proto: unmapped ${unmapped.join(',')}; unknown ${unknown.join(',')}`)
}

const CLASS_OF_WIRE_CODE = new Map<number, QuloudErrorClass>(names.map((name) => [WIRE_ERROR_CODES[name]!, CLASS_OF_WIRE_NAME[name]!]))
const SENT: ReadonlyArray<[QuloudErrorClass[], number]> = [
  ...names.map((name): [QuloudErrorClass[], number] => [[CLASS_OF_WIRE_NAME[name]!], WIRE_ERROR_CODES[name]!]),
  ...ALSO_SENT_AS.map(([classes, name]): [QuloudErrorClass[], number] => [classes, WIRE_ERROR_CODES[name]!])
]
const INTERNAL = WIRE_ERROR_CODES.INTERNAL!

/** The wire code for an error a handler caught; anything unknown is INTERNAL. */
export function wireCodeOf (err: unknown): number {
  if (!(err instanceof QuloudError)) return INTERNAL
  return SENT.find(([classes]) => isErrorOf(err, classes))?.[1] ?? INTERNAL
}

/** The typed error a client throws for a wire Error message; unknown codes are RemoteInternalError. */
export function errorFromWire (code: number, message: string): QuloudError {
  const Class = CLASS_OF_WIRE_CODE.get(code) ?? RemoteInternalError
  return new Class(message === '' ? `remote error ${code}` : message)
}
