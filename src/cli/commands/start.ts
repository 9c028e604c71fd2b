import type { Command } from 'commander'
import { resolveDataDir } from '../../adapters/data-dir/data-dir.ts'
import { stderrLoggerFactory } from '../../adapters/logging/stderr-logger.ts'
import { startNode } from '../../composition-root.ts'
import {
  parsePublicAddresses, parseApiAddress, parseBootstrap, parseCapacity, parseDhtMode, parseFederation, parseListen, type NodeConfig
} from '../../domain/config/node-config.ts'
import type { CliIo } from '../io.ts'
import { sizeArgument } from './arguments.ts'

export interface StartOptions {
  dataDir?: string
  listen?: string[]
  api?: string
  capacity?: number
  publicAddress?: string[]
  federation?: string
  /** true for --mdns, false for --no-mdns, undefined: config. */
  mdns?: boolean
  bootstrap?: string[]
  dhtMode?: string
  relayServer?: boolean
  upnp?: boolean
}

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

export function registerStart (program: Command, io: CliIo): void {
  program.command('start')
    .description('run the node daemon in the foreground (logs on stderr; DEBUG=quloud:* for detail)')
    .option('--data-dir <dir>', 'data directory (default: $QULOUD_DATA_DIR or ~/.local/share/quloud)')
    .option('--listen <multiaddr...>', 'libp2p listen addresses (default from config: /ip4/0.0.0.0/tcp/4101)')
    .option('--api <host:port>', 'control API address on loopback; port 0 picks a free one (default 127.0.0.1:0)')
    .option('--capacity <size>', 'bytes offered to the federation, e.g. 500GB or 2TiB', sizeArgument)
    .option('--public-address <multiaddr...>', 'addresses to share as they are, e.g. a port forward: /ip4/203.0.113.7/tcp/4101')
    .option('--federation <name>', 'federation to join (default from config: quloud)')
    .option('--bootstrap <multiaddr...>', 'join through these nodes: multiaddrs ending in /p2p/<peer id>')
    .option('--mdns', 'discover federation peers on the LAN with mDNS (default from config: on)')
    .option('--no-mdns', 'do not use mDNS')
    .option('--dht-mode <mode>', 'DHT role: auto (server once publicly reachable), server or client (default from config: auto)')
    .option('--relay-server', 'relay connections for federation peers behind NAT (default from config: off)')
    .option('--upnp', 'ask the router for a port mapping with UPnP (default from config: off)')
    .addHelpText('after', '\nEvery setting can also be set in config.json in the data directory; flags win.\nSee docs/federation.md and docs/nat.md.')
    .action(async (options: StartOptions) => runStart(options, io))
}
