/**
 * Every failure Quloud reports has its own class with a stable `name` and `code`.
 * Callers and tests branch on `name`/`code`, never on message text. A native error
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

/** Defines a QuloudError subclass with a stable name and code; modules declare their own. */
export function defineError (name: string, code: string) {
  const Class = class extends QuloudError {
    constructor (message: string, options?: ErrorOptions) {
      super(message, code, options)
      this.name = name
    }
  }
  Object.defineProperty(Class, 'name', { value: name })
  return Class
}

/** The requested item does not exist. */
export const NotFoundError = defineError('NotFoundError', 'not-found')
export type NotFoundError = InstanceType<typeof NotFoundError>

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

/** Throws AbortError when the signal has fired. */
export function throwIfAborted (signal?: AbortSignal): void {
  if (signal?.aborted === true) {
    throw new AbortError('the operation was aborted', { cause: signal.reason })
  }
}
