/**
 * Every failure Quloud reports has its own class with a stable `name` and `code`.
 * Callers branch with `instanceof` (or `isErrorOf` below), never on message text and
 * never on code strings: codes exist to cross process boundaries (wire, control API,
 * exit codes), and only this registry turns one back into a class. A native error
 * that is translated keeps it as `cause`.
 */
export class QuloudError extends Error {
  /** Stable machine-readable code, also used on the wire and in the control API. */
  readonly code: string

  constructor (message: string, code: string, options?: ErrorOptions) {
    super(message, options)
    this.code = code
  }
}

/** A class made by defineError: constructed from a message, its code readable without an instance. */
export interface QuloudErrorClass<E extends QuloudError = QuloudError> {
  new (message: string, options?: ErrorOptions): E
  readonly code: string
}

/** An instance of a defined class; the literal code keeps two failures apart for the type checker too. */
export type CodedError<C extends string> = QuloudError & { readonly code: C }

// code -> class, filled as modules define their errors; a code names one failure only
const REGISTRY = new Map<string, QuloudErrorClass>()

/**
 * Defines a QuloudError subclass with a stable name and code; modules declare their own.
 * `parent` makes it a kind of an existing failure, so code that handles the parent
 * (a handler giving up on a broken stream) keeps doing so while callers that care can
 * tell the kinds apart. Throws if the code is taken: two failures may not share one.
 */
export function defineError<const C extends string> (name: string, code: C, parent?: QuloudErrorClass): QuloudErrorClass<CodedError<C>> {
  if (REGISTRY.has(code)) throw new Error(`error code ${code} is defined twice (${REGISTRY.get(code)!.name} and ${name})`)
  const Base: new (message: string, options?: ErrorOptions) => QuloudError = parent ?? class extends QuloudError {
    constructor (message: string, options?: ErrorOptions) {
      super(message, code, options)
    }
  }
  const Class = class extends Base {
    static readonly code = code
    constructor (message: string, options?: ErrorOptions) {
      super(message, options)
      ;(this as { code: string }).code = code
      this.name = name
    }
  }
  Object.defineProperty(Class, 'name', { value: name })
  REGISTRY.set(code, Class)
  return Class as unknown as QuloudErrorClass<CodedError<C>>
}

/** The class registered for a code, or undefined for a code this process never defined. */
export function errorClassOf (code: string): QuloudErrorClass | undefined {
  return REGISTRY.get(code)
}

/** Every code defined so far in this process (only modules already imported have defined theirs). */
export function definedErrorCodes (): string[] {
  return [...REGISTRY.keys()]
}

/** Whether `err` is an instance of one of `classes` (or of a kind derived from one). */
export function isErrorOf (err: unknown, classes: readonly QuloudErrorClass[]): boolean {
  return classes.some((Class) => err instanceof Class)
}

/** The requested item does not exist. */
export const NotFoundError = defineError('NotFoundError', 'not-found')
export type NotFoundError = InstanceType<typeof NotFoundError>

/** The daemon has no such control API route: it runs another version than the CLI that asked. */
export const UnknownRouteError = defineError('UnknownRouteError', 'unknown-route')
export type UnknownRouteError = InstanceType<typeof UnknownRouteError>

/** The operation was cancelled through its AbortSignal. */
export const AbortError = defineError('AbortError', 'aborted')
export type AbortError = InstanceType<typeof AbortError>

/** An argument is malformed (bad id, bad size string, bad multiaddr...). */
export const InvalidInputError = defineError('InvalidInputError', 'invalid-input')
export type InvalidInputError = InstanceType<typeof InvalidInputError>

/** A value is larger than the limit that applies to it. */
export const TooLargeError = defineError('TooLargeError', 'too-large')
export type TooLargeError = InstanceType<typeof TooLargeError>

/** A store or adapter failed to read or write (disk full, permissions, corruption). */
export const StorageError = defineError('StorageError', 'storage')
export type StorageError = InstanceType<typeof StorageError>

/** A store was used after close(). */
export const ClosedError = defineError('ClosedError', 'closed')
export type ClosedError = InstanceType<typeof ClosedError>

/** The data directory is missing, unreadable or not a Quloud node. */
export const DataDirError = defineError('DataDirError', 'data-dir')
export type DataDirError = InstanceType<typeof DataDirError>

/** `init` was asked to create a node where one exists already. */
export const AlreadyInitializedError = defineError('AlreadyInitializedError', 'already-initialized')
export type AlreadyInitializedError = InstanceType<typeof AlreadyInitializedError>

/** The configuration file or a flag holds a value Quloud cannot use. */
export const ConfigError = defineError('ConfigError', 'config')
export type ConfigError = InstanceType<typeof ConfigError>

/** No daemon answers for this data directory. */
export const DaemonNotRunningError = defineError('DaemonNotRunningError', 'daemon-not-running')
export type DaemonNotRunningError = InstanceType<typeof DaemonNotRunningError>

/** The control API refused the bearer token. */
export const UnauthorizedError = defineError('UnauthorizedError', 'unauthorized')
export type UnauthorizedError = InstanceType<typeof UnauthorizedError>

/** A listen address (libp2p or the control API) is taken by another process. */
export const AddressInUseError = defineError('AddressInUseError', 'address-in-use')
export type AddressInUseError = InstanceType<typeof AddressInUseError>

/** `quloud stop` asked the daemon to stop and it was still running when the wait ended. */
export const StopTimeoutError = defineError('StopTimeoutError', 'stop-timeout')
export type StopTimeoutError = InstanceType<typeof StopTimeoutError>

/** Throws AbortError when the signal has fired. */
export function throwIfAborted (signal?: AbortSignal): void {
  if (signal?.aborted === true) {
    throw new AbortError('the operation was aborted', { cause: signal.reason })
  }
}
