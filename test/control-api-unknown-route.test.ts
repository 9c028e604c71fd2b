import assert from 'node:assert/strict'
import { it } from 'node:test'
import { callApi } from '../src/adapters/control-api/control-api-client.ts'
import { ControlApiServer } from '../src/adapters/control-api/control-api-server.ts'
import { silentLoggerFactory } from '../src/adapters/logging/stderr-logger.ts'
import { exitCodeFor } from '../src/cli/exit-codes.ts'

it('a CLI newer than its daemon is told to restart the daemon, not that something was not found (exit 8, not 9)', async () => {
  // the daemon of before an upgrade: it has no POST /v1/list
  const server = new ControlApiServer({ address: '127.0.0.1:0', log: silentLoggerFactory('test'), keys: { control: () => 'k', metrics: () => 'm' }, routes: { 'GET /v1/files': async () => [] } })
  const url = await server.start()
  try {
    await assert.rejects(callApi({ url, token: 'k' }, 'POST', '/v1/list', {}), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'unknown-route')
      assert.match(err.message, /no such API route: POST \/v1\/list .*restart the daemon/)
      assert.equal(exitCodeFor(err.code, true), 8)
      return true
    })
  } finally {
    await server.stop()
  }
})
