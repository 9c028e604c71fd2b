import type { Command } from 'commander'
import type { CliIo } from '../io.ts'

export interface InitOptions {
  dataDir?: string
  json?: boolean
  ifMissing?: boolean
  recover?: boolean
}

export function registerInit (program: Command, io: CliIo): void {
  program.command('init')
    .description('create a node: identity, owner master secret, config; prints the recovery phrase once')
    .option('--data-dir <dir>', 'data directory (default: $QULOUD_DATA_DIR or ~/.local/share/quloud)')
    .option('--json', 'print {dataDir, peerId, recoveryPhrase} as JSON')
    .option('--if-missing', 'do nothing (exit 0) when the data directory already holds a node')
    .option('--recover', 'recreate the owner secret from the 24-word recovery phrase, read from standard input')
    .action(async (options: InitOptions) => {
      // init makes a libp2p key: the key code loads for this verb alone
      const { runInit } = await import('./run-init.ts')
      await runInit(options, io)
    })
}
