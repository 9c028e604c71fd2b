import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Command } from 'commander'
import { buildProgram, runCli } from '../src/cli/program.ts'

/** Commands that do something (no subcommands of their own), by their full name. */
function leaves (command: Command, prefix = ''): Array<{ name: string, command: Command }> {
  return command.commands.flatMap((c) => {
    const name = `${prefix}${c.name()}`
    return c.commands.length === 0 ? [{ name, command: c }] : leaves(c, `${name} `)
  })
}

const io = (): { out: (t: string) => void, err: (t: string) => void, isTty: boolean, env: NodeJS.ProcessEnv, stdout: () => string } => {
  let stdout = ''
  return { out: (t) => { stdout += t }, err: () => {}, isTty: false, env: {}, stdout: () => stdout }
}

describe('--json on every command', () => {
  it('every command takes --json', async () => {
    const commands = leaves(await buildProgram(io()))
    assert.ok(commands.length >= 20, `commands found: ${commands.map((c) => c.name).join(', ')}`)
    const without = commands.filter(({ command }) => !command.options.some((o) => o.long === '--json')).map((c) => c.name)
    assert.deepEqual(without, [])
  })

  it('a failure found by the CLI itself is JSON too; a --json after -- is an argument, not the flag', async () => {
    const out = io()
    // a data directory path that cannot be resolved fails before any daemon is looked for
    const code = await runCli(['status', '--json', '--data-dir', ''], out)
    assert.equal(code, 3)
    assert.equal(JSON.parse(out.stdout()).error.code, 'data-dir')
    const plain = io()
    await runCli(['status', '--data-dir', '', '--', '--json'], plain)
    assert.equal(plain.stdout(), '')
  })
})
