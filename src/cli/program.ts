import { Command, CommanderError } from 'commander'
import { RemoteError } from '../adapters/control-api/control-api-client.ts'
import { QuloudError } from '../errors.ts'
import { VERSION } from '../version.ts'
import { EXIT, EXIT_CODES_HELP, exitCodeFor } from './exit-codes.ts'
import type { CliIo } from './io.ts'

type Register = (program: Command, io: CliIo) => void

/**
 * Every verb's module, in the order help lists them. A command loads only its own verb's
 * module (a `quloud put` in a script pays for put, not for twenty verbs); help, an
 * unknown verb, completion and the man page load all of them.
 */
const VERBS: ReadonlyArray<{ verbs: string[], load: () => Promise<Register> }> = [
  { verbs: ['init'], load: async () => (await import('./commands/init.ts')).registerInit },
  { verbs: ['start'], load: async () => (await import('./commands/start.ts')).registerStart },
  { verbs: ['stop'], load: async () => (await import('./commands/stop.ts')).registerStop },
  { verbs: ['config'], load: async () => (await import('./commands/config.ts')).registerConfig },
  { verbs: ['api-key'], load: async () => (await import('./commands/api-key.ts')).registerApiKey },
  { verbs: ['dashboard'], load: async () => (await import('./commands/dashboard.ts')).registerDashboard },
  { verbs: ['status'], load: async () => (await import('./commands/status.ts')).registerStatus },
  { verbs: ['peers'], load: async () => (await import('./commands/peers.ts')).registerPeers },
  { verbs: ['trust'], load: async () => (await import('./commands/trust.ts')).registerTrust },
  { verbs: ['put'], load: async () => (await import('./commands/put.ts')).registerPut },
  { verbs: ['ls'], load: async () => (await import('./commands/ls.ts')).registerLs },
  { verbs: ['get'], load: async () => (await import('./commands/get.ts')).registerGet },
  { verbs: ['rm'], load: async () => (await import('./commands/rm.ts')).registerRm },
  { verbs: ['forget'], load: async () => (await import('./commands/forget.ts')).registerForget },
  { verbs: ['check'], load: async () => (await import('./commands/check.ts')).registerCheck },
  { verbs: ['share'], load: async () => (await import('./commands/share.ts')).registerShare },
  { verbs: ['shares', 'unshare'], load: async () => (await import('./commands/shares.ts')).registerShares },
  { verbs: ['receive'], load: async () => (await import('./commands/receive.ts')).registerReceive },
  { verbs: ['local-federation'], load: async () => (await import('./commands/local-federation.ts')).registerLocalFederation },
  { verbs: ['completion'], load: async () => (await import('./commands/completion.ts')).registerCompletion },
  { verbs: ['man'], load: async () => (await import('./commands/man-page.ts')).registerMan }
]

/** Whether `verb` needs every verb's module: it lists them, or it is none of them. */
function needsAll (verb: string | undefined): boolean {
  return verb === undefined || verb === 'completion' || verb === 'man' || !VERBS.some((v) => v.verbs.includes(verb))
}

/** The program with every verb, or with `argv`'s verb only when that is all it needs (none for `--version`). */
export async function buildProgram (io: CliIo, argv?: readonly string[]): Promise<Command> {
  const verb = argv?.[0]
  const wanted = argv?.length === 1 && (verb === '-V' || verb === '--version') ? [] : needsAll(verb) ? VERBS : VERBS.filter((v) => v.verbs.includes(verb!))
  const registers = await Promise.all(wanted.map(async (v) => await v.load()))
  const program = new Command('quloud')
    .description('Quloud: trustless federated storage; one node per NAS')
    .version(VERSION)
    // `quloud --version` is the program's; after a verb (`get NAME --version 2`) it is the verb's
    .enablePositionalOptions()
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .addHelpText('after', EXIT_CODES_HELP)
  for (const register of registers) register(program, io)
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
    await (await buildProgram(io, argv)).parseAsync(argv, { from: 'user' })
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
