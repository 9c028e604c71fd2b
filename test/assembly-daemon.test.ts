import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { access } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { callApi, findDaemon } from '../src/adapters/control-api/control-api-client.ts'
import { FILES, initDataDir } from '../src/adapters/data-dir/data-dir.ts'
import { silentLoggerFactory } from '../src/adapters/logging/stderr-logger.ts'
import { startNode, type StartNodeOptions } from '../src/assembly/daemon.ts'
import { DEFAULT_CONFIG } from '../src/domain/config/node-config.ts'
import type { NodeStatus } from '../src/app/node-status.ts'
import { tempDir } from './helpers/temp-dir.ts'

const exists = async (path: string): Promise<boolean> => access(path).then(() => true, () => false)

describe('the daemon assembly', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  let options: StartNodeOptions

  before(async () => {
    dir = await tempDir()
    const dataDir = join(dir.path, 'node')
    await initDataDir(dataDir, randomBytes(32), {
      ...DEFAULT_CONFIG, listen: ['/ip4/127.0.0.1/tcp/0'], api: '127.0.0.1:0', mdns: false, federation: `t-${randomBytes(4).toString('hex')}`
    })
    options = { dataDir, loggers: silentLoggerFactory }
  })
  after(async () => { await dir.cleanup() })

  it('serves status and the owner routes from the start; a second daemon on the data directory changes nothing', async () => {
    const node = await startNode(options)
    try {
      const endpoint = await findDaemon(options.dataDir)
      assert.equal(endpoint.url, node.apiUrl)
      const status = await callApi<NodeStatus>(endpoint, 'GET', '/v1/status')
      assert.equal(status.peerId, node.peerId)
      // the budgets' node-wide use, with the configured limits and the strangers' share of them
      assert.deepEqual(status.budgets?.memory, { used: 0, limit: DEFAULT_CONFIG.memoryBudget, strangers: 0, strangersLimit: DEFAULT_CONFIG.memoryBudget / 2 })
      assert.equal(status.budgets?.streams.limit, DEFAULT_CONFIG.maxStreams)
      assert.equal(status.budgets?.connections.limit, DEFAULT_CONFIG.maxConnections)
      // the owner side answers at once: with no peer yet, the catalogue cannot be fetched
      await assert.rejects(callApi(endpoint, 'GET', '/v1/files'), (err: any) => err.code === 'catalogue-unavailable')

      await assert.rejects(startNode(options), { name: 'DataDirError' })
      assert.deepEqual(await findDaemon(options.dataDir), endpoint, 'the refused start left api.json and api.token alone')
      assert.equal((await callApi<{ peerId: string }>(endpoint, 'GET', '/v1/status')).peerId, node.peerId, 'and the first daemon still answers')
    } finally {
      await node.stop()
    }
    assert.equal(await exists(join(options.dataDir, FILES.api)), false, 'stop removes api.json')
    assert.equal(await exists(join(options.dataDir, FILES.apiToken)), true, 'the API key persists across restarts')
  })

  it('stop releases everything: the same data directory starts again, with the same API key', async () => {
    const node = await startNode(options)
    const key = (await findDaemon(options.dataDir)).token
    await node.stop()
    const again = await startNode(options)
    try {
      assert.equal(again.peerId, node.peerId)
      assert.equal((await findDaemon(options.dataDir)).token, key)
      assert.equal((await callApi<{ peerId: string }>(await findDaemon(options.dataDir), 'GET', '/v1/status')).peerId, node.peerId)
    } finally {
      await again.stop()
    }
  })
})
