import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { describe, it } from 'node:test'
import { bashCompletion, commandTree } from '../src/cli/commands/completion.ts'
import { manPage } from '../src/cli/commands/man-page.ts'
import { buildProgram } from '../src/cli/program.ts'

const io = { out () {}, err () {}, isTty: false, env: {} }
const quloud = await buildProgram(io)
const script = bashCompletion(commandTree(quloud))

/** What bash offers after `line` (a trailing space: a new, empty word), with the generated script loaded. */
function complete (line: string): string[] {
  const program = `${script}
read -ra COMP_WORDS <<< "$LINE"
[[ "$LINE" == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$((\${#COMP_WORDS[@]} - 1))
_quloud
printf '%s\\n' "\${COMPREPLY[@]}"`
  const run = spawnSync('bash', ['-c', program], { env: { ...process.env, LINE: line }, encoding: 'utf8' })
  assert.equal(run.status, 0, run.stderr)
  return run.stdout.split('\n').filter((w) => w !== '')
}

const HAVE_GROFF = spawnSync('groff', ['--version']).status === 0

describe('the manual page from the command definitions', () => {
  it('has a section per command with each flag, and the exit codes', () => {
    const page = manPage(quloud, new Date('2026-12-01'))
    assert.match(page, /^\.TH QULOUD 1 "2026-12-01"/)
    for (const entry of commandTree(quloud).filter((e) => e.path !== '')) {
      assert.match(page, new RegExp(`^\\.SS quloud ${entry.path.replace(/-/g, '\\\\-')}( |$)`, 'm'), entry.path)
    }
    assert.match(page, /\\-\\-log\\-format <format>/)
    assert.match(page, /^ *141 standard output was closed early/m)
  })

  it('formats without a warning', { skip: HAVE_GROFF ? false : 'groff is not installed' }, () => {
    const run = spawnSync('groff', ['-man', '-ww', '-z'], { input: manPage(quloud), encoding: 'utf8' })
    assert.equal(run.status, 0)
    assert.equal(run.stderr, '')
  })
})

describe('bash completion from the command definitions', () => {
  it('completes commands, subcommands and each command\'s own flags', () => {
    assert.deepEqual(complete('quloud con'), ['config'])
    assert.deepEqual(complete('quloud config s'), ['set'])
    assert.deepEqual(complete('quloud trust '), ['add', 'list', 'remove', '--help'])
    assert.deepEqual(complete('quloud start --log-'), ['--log-level', '--log-format', '--log-file'])
    assert.deepEqual(complete('quloud --json api-key rotate --m'), ['--metrics'], 'flags before the command do not hide it')
    assert.deepEqual(complete('quloud status --log-'), [], 'a flag of another command is not offered')
  })

  it('every command of the program is in the script with every flag it takes', () => {
    for (const entry of commandTree(quloud).filter((e) => e.path !== '')) {
      const offered = complete(`quloud ${entry.path} `)
      for (const word of [...entry.subcommands, ...entry.options]) assert.ok(offered.includes(word), `${entry.path}: ${word} in ${offered.join(' ')}`)
    }
  })
})
