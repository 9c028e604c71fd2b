import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { accountExternalMemoryApart } from '../src/assembly/heap-accounting.ts'

test('a V8 older than 13.6 keeps its own accounting: the flag is not set', () => {
  for (const version of ['12.4.254.21-node.33', '13.5.212.10', '11.3.244.8', 'not-a-version']) {
    assert.equal(accountExternalMemoryApart(version), false, version)
  }
})

test("this Node's V8 takes the flag without complaint (a flag it did not know would be a line on stderr)", () => {
  // in a child: a set V8 flag stays for the whole process
  const script = [
    "import { accountExternalMemoryApart } from './src/assembly/heap-accounting.ts'",
    'console.log(JSON.stringify(accountExternalMemoryApart()))'
  ].join('\n')
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', cwd: new URL('..', import.meta.url) })
  assert.equal(run.status, 0, run.stderr)
  const [major = 0, minor = 0] = process.versions.v8.split('.').map(Number)
  assert.equal(JSON.parse(run.stdout), major > 13 || (major === 13 && minor >= 6))
  // an unknown flag is not an error in V8, only a line on stderr: there must be none
  assert.doesNotMatch(run.stderr, /unrecognized|unknown/i)
})
