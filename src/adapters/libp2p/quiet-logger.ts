import type { ComponentLogger, Logger } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'

/**
 * libp2p's loggers, cheap when nothing is debugged. libp2p makes a logger per
 * connection and per stream (`newScope`), and each of @libp2p/logger's is three
 * debug instances that ask `isatty(stderr)` as they are made: ~2 % of the node's CPU
 * under stream churn, for lines nobody reads. With `DEBUG` unset (the only way these
 * loggers are switched on; weald reads it once, at start) every component gets one
 * shared logger that does nothing; with it set, libp2p's own, as before.
 */
export function quietLibp2pLogger (debug: string | undefined = process.env.DEBUG): ComponentLogger {
  if (debug !== undefined && debug !== '') return defaultLogger()
  return { forComponent: () => SILENT }
}

const SILENT: Logger = Object.assign(() => {}, {
  error: () => {},
  trace: () => {},
  enabled: false,
  newScope: (): Logger => SILENT
})
