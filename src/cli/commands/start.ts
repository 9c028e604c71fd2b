import type { Command } from 'commander'
import type { CliIo } from '../io.ts'
import { sizeArgument } from './arguments.ts'

export interface StartOptions {
  dataDir?: string
  listen?: string[]
  api?: string
  capacity?: number
  publicAddress?: string[]
  federation?: string
  site?: string
  /** true for --mdns, false for --no-mdns, undefined: config. */
  mdns?: boolean
  bootstrap?: string[]
  dhtMode?: string
  relayServer?: boolean
  upnp?: boolean
  logLevel?: string
  logFormat?: string
  logFile?: string
  /** Same as --log-format json. */
  json?: boolean
  limitUpload?: string
  limitDownload?: string
}

export function registerStart (program: Command, io: CliIo): void {
  program.command('start')
    .description('run the node daemon in the foreground (logs on stderr; `quloud stop` or SIGTERM stops it)')
    .option('--data-dir <dir>', 'data directory (default: $QULOUD_DATA_DIR or ~/.local/share/quloud)')
    .option('--listen <multiaddr...>', 'libp2p listen addresses (default from config: /ip4/0.0.0.0/tcp/4101)')
    .option('--api <host:port>', 'control API address on loopback; port 0 picks a free one (default from config: 127.0.0.1:4102)')
    .option('--capacity <size>', 'bytes offered to the federation, e.g. 500GB or 2TiB', sizeArgument)
    .option('--public-address <multiaddr...>', 'addresses to share as they are, e.g. a port forward: /ip4/203.0.113.7/tcp/4101')
    .option('--federation <name>', 'federation to join (default from config: quloud)')
    .option('--site <name>', 'the site this node stands in, e.g. home-berlin: owners put no more of a file on one site than on one subnet (default from config: none)')
    .option('--bootstrap <multiaddr...>', 'join through these nodes: multiaddrs ending in /p2p/<peer id>')
    .option('--mdns', 'discover federation peers on the LAN with mDNS (default from config: on)')
    .option('--no-mdns', 'do not use mDNS')
    .option('--dht-mode <mode>', 'DHT role: auto (server once publicly reachable), server or client (default from config: auto)')
    .option('--relay-server', 'relay connections for federation peers behind NAT (default from config: off)')
    .option('--upnp', 'ask the router for a port mapping with UPnP (default from config: off)')
    .option('--log-level <level>', 'debug, info, warn or error (default from config: info)')
    .option('--log-format <format>', 'text or json: one JSON object per line (default from config: text)')
    .option('--json', 'log one JSON object per line (as --log-format json); errors as JSON on stdout')
    .option('--log-file <path>', 'append the log to this file instead of stderr; reopened on SIGHUP')
    .option('--limit-upload <size>', 'most bytes per second sent to federation peers, e.g. 1MB (at least 64KiB; default from config: unlimited)')
    .option('--limit-download <size>', 'most bytes per second received from federation peers, e.g. 4MB (at least 64KiB; default from config: unlimited)')
    .addHelpText('after', '\nEvery setting can also be set in config.json in the data directory; flags win.\nSee docs/federation.md and docs/nat.md.')
    .action(async (options: StartOptions) => {
      // before the daemon allocates: its buffers are weighed apart from its heap
      const { accountExternalMemoryApart } = await import('../../assembly/heap-accounting.ts')
      accountExternalMemoryApart()
      // the daemon graph (libp2p, snarkjs, level, protobuf) loads for this verb alone
      const { runStart } = await import('./run-start.ts')
      await runStart(options, io)
    })
}
