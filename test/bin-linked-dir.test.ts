// bin/quloud is reached by many paths: a link to it (npm's bin link), a linked
// directory on PATH, a cwd that is such a link. Node reads its script's path lexically,
// so "<linked dir>/../src/cli/main.ts" would name the link's parent, not the checkout.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { after, describe, it } from 'node:test'

const bin = resolve(import.meta.dirname, '../bin')
const tmp = mkdtempSync(join(tmpdir(), 'quloud-bin-'))
after(() => rmSync(tmp, { recursive: true, force: true }))
symlinkSync(bin, join(tmp, 'quloud-bin'))

describe('bin/quloud reached through a linked directory', () => {
  it('runs when its directory is a link on PATH', () => {
    const run = spawnSync('quloud', ['--help'], { env: { ...process.env, PATH: `${join(tmp, 'quloud-bin')}:${process.env.PATH ?? ''}` }, encoding: 'utf8', timeout: 60_000 })
    assert.equal(run.status, 0, run.stderr.slice(0, 400))
  })

  it('runs as ./quloud from a cwd that is that link', () => {
    const run = spawnSync('bash', ['-c', `cd '${join(tmp, 'quloud-bin')}' && ./quloud --help`], { encoding: 'utf8', timeout: 60_000 })
    assert.equal(run.status, 0, run.stderr.slice(0, 400))
  })
})
