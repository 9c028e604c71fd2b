import type { Command } from 'commander'
import type { CliIo } from '../io.ts'
import { DATA_DIR_HELP } from './daemon-call.ts'
import { collectSetting } from './setting-value.ts'

export interface InitOptions {
  dataDir?: string
  json?: boolean
  ifMissing?: boolean
  recover?: boolean
  capacity?: string
  federation?: string
  bootstrap?: string[]
  listen?: string[]
  api?: string
  /** true for --mdns, false for --no-mdns, undefined: the default. */
  mdns?: boolean
  /** Any other setting, `--set KEY=VALUE`. */
  set?: Record<string, unknown>
}

export function registerInit (program: Command, io: CliIo): void {
  program.command('init')
    .description('create a node: identity, owner master secret, API key, settings; shows the recovery phrase once')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .option('--json', 'print {dataDir, peerId, federation, recoveryPhrase} as JSON, with no confirmation step')
    .option('--if-missing', 'do nothing (exit 0) when the data directory already holds a node')
    .option('--recover', 'recreate the owner secret from the 24-word recovery phrase, read from standard input (hidden on a terminal)')
    .option('--capacity <size>', 'bytes offered to the federation, e.g. 500GB (checked against the free disk)')
    .option('--federation <name>', 'federation to join (default: quloud); with --recover, the one your files are in')
    .option('--bootstrap <multiaddr...>', 'join through these nodes: multiaddrs ending in /p2p/<peer id>')
    .option('--listen <multiaddr...>', 'libp2p listen addresses (default /ip4/0.0.0.0/tcp/4101)')
    .option('--api <host:port>', 'control API address on loopback (default 127.0.0.1:4102)')
    .option('--mdns', 'discover federation peers on the LAN with mDNS (the default)')
    .option('--no-mdns', 'do not use mDNS')
    .option('--set <key=value>', 'any other setting of config.json (repeatable), e.g. --set proofWorkers=2', collectSetting)
    .addHelpText('after', '\nOn a terminal the phrase is shown as a numbered grid and three of its words are asked\nback before anything is written; with --json or without a terminal it is printed once.\nWith --recover on a terminal, the federation and bootstrap are asked for unless given.')
    .action(async (options: InitOptions) => {
      // init makes a libp2p key: the key code loads for this verb alone
      const { runInit } = await import('./run-init.ts')
      await runInit(options, io)
    })
}
