import assert from 'node:assert/strict'
import { PassThrough } from 'node:stream'
import { describe, it } from 'node:test'
import { confirmDeletion } from '../src/cli/confirm.ts'
import type { CliIo } from '../src/cli/io.ts'

function terminal (answer: string | undefined, isTTY = true): PassThrough {
  const input = new PassThrough()
  Object.assign(input, { isTTY })
  if (answer !== undefined) input.end(answer)
  return input
}

function io (): CliIo & { said: string[] } {
  const said: string[] = []
  return { said, out: (t) => { said.push(t) }, err: (t) => { said.push(t) }, isTty: true, env: {} }
}

describe('rm and forget ask before deleting', () => {
  it('on a terminal: y or yes goes ahead, naming what goes; anything else or nothing declines', async () => {
    const screen = io()
    await confirmDeletion(screen, 'album/ (3 files, 2.0 MiB)', undefined, terminal('yes\n'))
    assert.match(screen.said.join(''), /Delete album\/ \(3 files, 2\.0 MiB\) from every holder.*\[y\/N\]/)
    await confirmDeletion(io(), 'x', undefined, terminal(' Y \n'))
    for (const answer of ['n\n', '\n', 'yes please\n', '']) {
      await assert.rejects(confirmDeletion(io(), 'x', undefined, terminal(answer)), { name: 'InvalidInputError', message: 'nothing removed' }, JSON.stringify(answer))
    }
  })

  it('without a terminal it refuses unless --yes, and --yes reads nothing', async () => {
    await assert.rejects(confirmDeletion(io(), 'album/', undefined, terminal('yes\n', false)), (err: Error) => err.name === 'InvalidInputError' && /--yes/.test(err.message))
    const untouched = terminal(undefined, false)
    await confirmDeletion(io(), 'album/', true, untouched)
    assert.equal(untouched.readableLength, 0)
  })
})
