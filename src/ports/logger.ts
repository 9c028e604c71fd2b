/**
 * Namespaced logging. Components get a Logger for their own namespace
 * (`quloud:store:fs`) from the assembly (src/assembly) and never write to the console.
 *
 * `info`, `warn` and `error` are the daemon's readable log; `debug` lines appear only
 * when the namespace is enabled through the `DEBUG` environment variable
 * (`DEBUG=quloud:*`, same syntax as libp2p's).
 */
export interface Logger {
  debug (message: string, ...args: unknown[]): void
  info (message: string, ...args: unknown[]): void
  warn (message: string, ...args: unknown[]): void
  error (message: string, ...args: unknown[]): void
}

/** Creates the logger of one component namespace, e.g. `store:fs`. */
export type LoggerFactory = (namespace: string) => Logger
