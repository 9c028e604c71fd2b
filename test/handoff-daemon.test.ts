import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { initDataDir } from '../src/adapters/data-dir/data-dir.ts'
import { silentLoggerFactory } from '../src/adapters/logging/stderr-logger.ts'
import { startNode, type RunningNode } from '../src/assembly/daemon.ts'
import { startHandoff } from '../src/assembly/handoff.ts'
import { startBareHost } from '../src/assembly/host.ts'
import { DEFAULT_CONFIG } from '../src/domain/config/node-config.ts'
import { tempDir } from './helpers/temp-dir.ts'

describe('the daemon serves short-code handoffs', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  let node: RunningNode

  before(async () => {
    dir = await tempDir()
    const dataDir = join(dir.path, 'node')
    await initDataDir(dataDir, randomBytes(32), {
      ...DEFAULT_CONFIG, listen: ['/ip4/127.0.0.1/tcp/0'], api: '127.0.0.1:0', mdns: false, federation: `t-${randomBytes(4).toString('hex')}`
    })
    node = await startNode({ dataDir, loggers: silentLoggerFactory })
  })
  after(async () => {
    await node?.stop()
    await dir?.cleanup()
  })

  it('a capability offered on the daemon is redeemed by another node with the code', async () => {
    const receiverHost = await startBareHost()
    const receiver = await startHandoff({ host: receiverHost, loggers: silentLoggerFactory })
    try {
      const host = node.membership.host
      await receiverHost.peerStore.merge(host.peerId, { multiaddrs: host.getMultiaddrs() })
      const capability = randomBytes(48)
      const { code } = node.handoff.offer(capability)
      assert.deepEqual(Buffer.from(await receiver.service.redeem(code)), capability)
    } finally {
      await receiver.stop()
      await receiverHost.stop()
    }
  })
})
