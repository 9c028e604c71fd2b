import { loadConfig, resolveDataDir } from '../../adapters/data-dir/data-dir.ts'
import { startNode } from '../../assembly/daemon.ts'
import { openDaemonLog } from '../../assembly/daemon-log.ts'
import {
  parsePublicAddresses, parseApiAddress, parseBootstrap, parseCapacity, parseDhtMode, parseFederation, parseListen,
  parseLogFile, parseLogFormat, parseLogLevel, parseRateLimit, parseSite, type NodeConfig
} from '../../domain/config/node-config.ts'
import type { CliIo } from '../io.ts'
import type { StartOptions } from './start.ts'

/** How long shutdown may take before the process exits anyway. */
const SHUTDOWN_LIMIT_MS = 4000

/** Runs the daemon in the foreground until SIGINT, SIGTERM or `quloud stop`. */
export async function runStart (options: StartOptions, io: CliIo): Promise<void> {
  const dataDir = resolveDataDir(options.dataDir, io.env)
  const overrides: Partial<NodeConfig> = {}
  if (options.listen !== undefined) overrides.listen = parseListen(options.listen, '--listen')
  if (options.api !== undefined) overrides.api = parseApiAddress(options.api, '--api')
  if (options.capacity !== undefined) overrides.capacity = parseCapacity(options.capacity, '--capacity')
  if (options.publicAddress !== undefined) overrides.publicAddresses = parsePublicAddresses(options.publicAddress, '--public-address')
  if (options.federation !== undefined) overrides.federation = parseFederation(options.federation, '--federation')
  if (options.site !== undefined) overrides.site = parseSite(options.site, '--site')
  if (options.mdns !== undefined) overrides.mdns = options.mdns
  if (options.bootstrap !== undefined) overrides.bootstrap = parseBootstrap(options.bootstrap, '--bootstrap')
  if (options.dhtMode !== undefined) overrides.dhtMode = parseDhtMode(options.dhtMode, '--dht-mode')
  if (options.relayServer !== undefined) overrides.relayServer = options.relayServer
  if (options.upnp !== undefined) overrides.upnp = options.upnp
  if (options.limitUpload !== undefined) overrides.limitUpload = parseRateLimit(options.limitUpload, '--limit-upload')
  if (options.limitDownload !== undefined) overrides.limitDownload = parseRateLimit(options.limitDownload, '--limit-download')
  if (options.logLevel !== undefined) overrides.logLevel = parseLogLevel(options.logLevel, '--log-level')
  if (options.logFormat !== undefined) overrides.logFormat = parseLogFormat(options.logFormat, '--log-format')
  else if (options.json === true) overrides.logFormat = 'json'
  if (options.logFile !== undefined) overrides.logFile = parseLogFile(options.logFile, '--log-file')
  const settings = { ...await loadConfig(dataDir), ...overrides }
  const daemonLog = await openDaemonLog(settings, (line) => io.err(line))
  const { loggers } = daemonLog
  const log = loggers('node')
  const reopen = (): void => { void daemonLog.reopen().catch((err) => log.error('cannot reopen the log file', err)) }
  let stopRequested = (): void => {}
  const stopping = new Promise<string>((resolve) => { stopRequested = () => resolve('quloud stop') })
  try {
    const node = await startNode({ dataDir, overrides, loggers, requestStop: () => stopRequested() })
    log.info('running; stop with `quloud stop`, Ctrl-C or SIGTERM')
    process.on('SIGHUP', reopen)
    let onSignal = (_signal: string): void => {}
    const reason = await new Promise<string>((resolve) => {
      onSignal = resolve
      process.on('SIGINT', onSignal)
      process.on('SIGTERM', onSignal)
      void stopping.then(resolve)
    })
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    log.info(`${reason}: stopping`)
    await new Promise<void>((resolve) => {
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
    })
  } finally {
    process.off('SIGHUP', reopen)
    await daemonLog.close()
  }
}
