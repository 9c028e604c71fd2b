import { resolveDataDir } from '../../adapters/data-dir/data-dir.ts'
import { stderrLoggerFactory } from '../../adapters/logging/stderr-logger.ts'
import { startNode } from '../../assembly/daemon.ts'
import {
  parsePublicAddresses, parseApiAddress, parseBootstrap, parseCapacity, parseDhtMode, parseFederation, parseListen, parseRateLimit, type NodeConfig
} from '../../domain/config/node-config.ts'
import type { CliIo } from '../io.ts'
import type { StartOptions } from './start.ts'

/** How long shutdown may take before the process exits anyway. */
const SHUTDOWN_LIMIT_MS = 4000

/** Runs the daemon in the foreground until SIGINT or SIGTERM. */
export async function runStart (options: StartOptions, io: CliIo): Promise<void> {
  const dataDir = resolveDataDir(options.dataDir, io.env)
  const overrides: Partial<NodeConfig> = {}
  if (options.listen !== undefined) overrides.listen = parseListen(options.listen, '--listen')
  if (options.api !== undefined) overrides.api = parseApiAddress(options.api, '--api')
  if (options.capacity !== undefined) overrides.capacity = parseCapacity(options.capacity, '--capacity')
  if (options.publicAddress !== undefined) overrides.publicAddresses = parsePublicAddresses(options.publicAddress, '--public-address')
  if (options.federation !== undefined) overrides.federation = parseFederation(options.federation, '--federation')
  if (options.mdns !== undefined) overrides.mdns = options.mdns
  if (options.bootstrap !== undefined) overrides.bootstrap = parseBootstrap(options.bootstrap, '--bootstrap')
  if (options.dhtMode !== undefined) overrides.dhtMode = parseDhtMode(options.dhtMode, '--dht-mode')
  if (options.relayServer !== undefined) overrides.relayServer = options.relayServer
  if (options.upnp !== undefined) overrides.upnp = options.upnp
  if (options.limitUpload !== undefined) overrides.limitUpload = parseRateLimit(options.limitUpload, '--limit-upload')
  if (options.limitDownload !== undefined) overrides.limitDownload = parseRateLimit(options.limitDownload, '--limit-download')
  const loggers = stderrLoggerFactory((line) => io.err(line))
  const log = loggers('node')
  const node = await startNode({ dataDir, overrides, loggers })
  log.info('running; stop with Ctrl-C or SIGTERM')
  await new Promise<void>((resolve) => {
    const onSignal = (signal: string): void => {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      log.info(`${signal}: stopping`)
      const limit = setTimeout(() => {
        log.warn(`shutdown took over ${SHUTDOWN_LIMIT_MS} ms; exiting anyway`)
        resolve()
      }, SHUTDOWN_LIMIT_MS)
      limit.unref()
      node.stop().finally(() => {
        clearTimeout(limit)
        log.info('stopped')
        resolve()
      })
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  })
}
