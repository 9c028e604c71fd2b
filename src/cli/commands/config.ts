import type { Command } from 'commander'
import type { CliIo } from '../io.ts'
import { DATA_DIR_HELP } from './daemon-call.ts'

export interface ConfigOptions {
  dataDir?: string
  json?: boolean
}

// the settings' checks (multiaddrs, sizes) load for this verb alone: \`quloud status\` stays light
export function registerConfig (program: Command, io: CliIo): void {
  const config = program.command('config')
    .description('read and change the node\'s settings (config.json); the daemon applies them at its next start')
  config.command('list')
    .description('every setting in force, marking those left at their default')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .option('--json', 'print the settings as one JSON object')
    .action(async (options: ConfigOptions) => { await (await import('./run-config.ts')).runConfigList(options, io) })
  config.command('get')
    .description('print one setting')
    .argument('<key>', 'a setting, e.g. capacity, federation, api')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .option('--json', 'print the value as JSON')
    .action(async (key: string, options: ConfigOptions) => { await (await import('./run-config.ts')).runConfigGet(key, options, io) })
  config.command('set')
    .description('change one setting, checked before it is written')
    .argument('<key>', 'a setting, e.g. capacity')
    .argument('<value>', 'JSON (false, 4, ["/ip4/…/p2p/…"]) or text (500GB, 30s, my-federation)')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .option('--json', 'print {key: value} as JSON')
    .action(async (key: string, value: string, options: ConfigOptions) => { await (await import('./run-config.ts')).runConfigSet(key, value, options, io) })
  config.command('unset')
    .description('put one setting back to its default')
    .argument('<key>')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .option('--json', 'print {key: value} as JSON')
    .action(async (key: string, options: ConfigOptions) => { await (await import('./run-config.ts')).runConfigSet(key, undefined, options, io) })
}
