import { Command, CommanderError } from 'commander'
import { RemoteError } from '../adapters/control-api/control-api-client.ts'
import { QuloudError } from '../errors.ts'
import { VERSION } from '../version.ts'
import { registerCheck } from './commands/check.ts'
import { registerForget } from './commands/forget.ts'
import { registerGet } from './commands/get.ts'
import { registerInit } from './commands/init.ts'
import { registerLs } from './commands/ls.ts'
import { registerPut } from './commands/put.ts'
import { registerReceive } from './commands/receive.ts'
import { registerRm } from './commands/rm.ts'
import { registerShare } from './commands/share.ts'
import { registerShares } from './commands/shares.ts'
import { registerPeers } from './commands/peers.ts'
import { registerStart } from './commands/start.ts'
import { registerStatus } from './commands/status.ts'
import { registerTrust } from './commands/trust.ts'
import { registerStop } from './commands/stop.ts'
import { registerConfig } from './commands/config.ts'
import { registerApiKey } from './commands/api-key.ts'
import { registerCompletion } from './commands/completion.ts'
import { registerMan } from './commands/man-page.ts'
import { registerDashboard } from './commands/dashboard.ts'
import { registerLocalFederation } from './commands/local-federation.ts'
import { EXIT, EXIT_CODES_HELP, exitCodeFor } from './exit-codes.ts'
import type { CliIo } from './io.ts'

export function buildProgram (io: CliIo): Command {
  const program = new Command('quloud')
    .description('Quloud: trustless federated storage; one node per NAS')
    .version(VERSION)
    // `quloud --version` is the program's; after a verb (`get NAME --version 2`) it is the verb's
    .enablePositionalOptions()
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .addHelpText('after', EXIT_CODES_HELP)
  registerInit(program, io)
  registerStart(program, io)
  registerStop(program, io)
  registerConfig(program, io)
  registerApiKey(program, io)
  registerDashboard(program, io)
  registerStatus(program, io)
  registerPeers(program, io)
  registerTrust(program, io)
  registerPut(program, io)
  registerLs(program, io)
  registerGet(program, io)
  registerRm(program, io)
  registerForget(program, io)
  registerCheck(program, io)
  registerShare(program, io)
  registerShares(program, io)
  registerReceive(program, io)
  registerLocalFederation(program, io)
  registerCompletion(program, io)
  registerMan(program, io)
  for (const command of allCommands(program)) command.exitOverride().configureOutput({ writeOut: io.out, writeErr: io.err })
  return program
}

/** Every command and subcommand (`trust add`, `config set`). */
function allCommands (command: Command): Command[] {
  return command.commands.flatMap((c) => [c, ...allCommands(c)])
}

/**
 * Runs the CLI and returns the exit code; errors become one line on stderr and, with
 * `--json` anywhere before `--`, also `{"error": {code, message, exitCode}}` on stdout,
 * so a script that parses stdout sees failures as JSON too.
 */
export async function runCli (argv: string[], io: CliIo): Promise<number> {
  const separator = argv.indexOf('--')
  const json = (separator === -1 ? argv : argv.slice(0, separator)).includes('--json')
  const fail = (code: string, message: string, exitCode: number): number => {
    if (json) io.out(JSON.stringify({ error: { code, message, exitCode } }) + '\n')
    return exitCode
  }
  try {
    await buildProgram(io).parseAsync(argv, { from: 'user' })
    return EXIT.ok
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed its one-line message
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT.ok
      return fail('usage', err.message.replace(/^error: /, ''), EXIT.usage)
    }
    if (err instanceof QuloudError) {
      io.err(`quloud: ${err.message}\n`)
      return fail(err.code, err.message, exitCodeFor(err.code, err instanceof RemoteError))
    }
    const message = (err as Error)?.message ?? String(err)
    io.err(`quloud: unexpected error: ${message}\n`)
    if (io.env.DEBUG !== undefined) io.err(`${(err as Error)?.stack}\n`)
    return fail('internal', message, EXIT.failure)
  }
}
