import type { Command } from 'commander'
import { EXIT_CODES_HELP } from '../exit-codes.ts'
import type { CliIo } from '../io.ts'
import { VERSION } from '../../version.ts'

/** roff text: a line starting with `.` or `'` would be a request, a backslash an escape. */
function roff (text: string): string {
  return text.replace(/\\/g, '\\e').replace(/^([.'])/gm, '\\&$1').replace(/-/g, '\\-')
}

/**
 * quloud(1) in man(7) format, made from the command definitions (each command's
 * description, arguments and flags with their help) and the exit code table, so the
 * page says what `--help` says.
 */
export function manPage (program: Command, date = new Date()): string {
  const lines = [
    `.TH QULOUD 1 "${date.toISOString().slice(0, 10)}" "quloud ${VERSION}" "User Commands"`,
    '.SH NAME',
    `quloud \\- ${roff(program.description())}`,
    '.SH SYNOPSIS',
    '.B quloud',
    '.I command',
    '[\\fIoptions\\fR]',
    '.SH COMMANDS'
  ]
  const walk = (command: Command, path: string): void => {
    const args = command.registeredArguments.map((a) => a.required ? `<${a.name()}${a.variadic ? '...' : ''}>` : `[${a.name()}${a.variadic ? '...' : ''}]`)
    lines.push('.SS ' + roff(['quloud', path, ...args].join(' ')), roff(command.description()))
    for (const option of command.options) lines.push('.TP', `.B ${roff(option.flags)}`, roff(option.description))
    for (const sub of command.commands) walk(sub, path === '' ? sub.name() : `${path} ${sub.name()}`)
  }
  for (const command of program.commands) walk(command, command.name())
  lines.push('.SH EXIT STATUS', '.nf', roff(EXIT_CODES_HELP.replace(/^\nExit codes:\n/, '')), '.fi')
  lines.push('.SH ENVIRONMENT', '.TP', '.B QULOUD_DATA_DIR', 'the data directory when \\-\\-data\\-dir is not given (default ~/.local/share/quloud)',
    '.TP', '.B DEBUG', 'debug namespaces, e.g. quloud:*,libp2p:*')
  lines.push('.SH SEE ALSO', 'docs/api.md (the control API), docs/federation.md, docs/nat.md, docs/systemd.md')
  return lines.join('\n') + '\n'
}

export function registerMan (program: Command, io: CliIo): void {
  program.command('man')
    .description('print the quloud(1) manual page, made from the command definitions: quloud man | man -l -')
    .option('--json', 'print {name, roff} as JSON')
    .action((options: { json?: boolean }) => {
      const page = manPage(program)
      io.out(options.json === true ? JSON.stringify({ name: 'quloud.1', roff: page }) + '\n' : page)
    })
}
