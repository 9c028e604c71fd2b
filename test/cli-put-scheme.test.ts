import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { EXIT } from '../src/cli/exit-codes.ts'
import { runQuloud } from './helpers/node-process.ts'
import { tempDir } from './helpers/temp-dir.ts'

describe('put --erasure / --replicas on the command line', () => {
  it('refuses both at once, a malformed scheme and copies written as a scheme: usage, exit 2, before any daemon is asked', async () => {
    const dir = await tempDir()
    try {
      for (const [args, why] of [
        [['--replicas', '2', '--erasure', '4+2'], /cannot be used with/],
        [['--erasure', '4+x'], /K\+M/],
        [['--erasure', '4+0'], /parity/],
        [['--erasure', 'replicas:2'], /--replicas/]
      ] as const) {
        const result = await runQuloud(['put', dir.path, ...args, '--data-dir', dir.path])
        assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`)
        assert.match(result.stderr, why)
      }
      // a well-formed scheme goes on to find the node, which this directory does not hold
      const result = await runQuloud(['put', dir.path, '--erasure', '4+2', '--data-dir', dir.path])
      assert.equal(result.code, EXIT.dataDir, result.stderr)
    } finally {
      await dir.cleanup()
    }
  })
})
