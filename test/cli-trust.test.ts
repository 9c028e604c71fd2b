import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { after, before, describe, it } from 'node:test'
import { FILES, initDataDir } from '../src/adapters/data-dir/data-dir.ts'
import { silentLoggerFactory } from '../src/adapters/logging/stderr-logger.ts'
import { startNode } from '../src/assembly/daemon.ts'
import { runPeers } from '../src/cli/commands/peers.ts'
import { runTrustAdd, runTrustList, runTrustRemove } from '../src/cli/commands/trust.ts'
import type { CliIo } from '../src/cli/io.ts'
import { DEFAULT_CONFIG } from '../src/domain/config/node-config.ts'
import { formatSize, parseSize } from '../src/domain/config/size.ts'
import { rejectsWith } from './helpers/rejects-with.ts'
import { tempDir } from './helpers/temp-dir.ts'
import { TrustFileError } from '../src/adapters/data-dir/trust-store.ts'
import { InvalidInputError, NotFoundError, type QuloudErrorClass } from '../src/errors.ts'
import { RemoteError } from '../src/adapters/control-api/control-api-client.ts'

/** The daemon's refusal arrives as a RemoteError carrying the class's code. */
async function refusedRemotely (work: Promise<unknown>, Class: QuloudErrorClass): Promise<void> {
  await assert.rejects(work, (err: unknown) => err instanceof RemoteError && err.code === Class.code)
}

function capture (): CliIo & { text: () => string } {
  let text = ''
  return { out: (t) => { text += t }, err: () => {}, isTty: false, env: {}, text: () => { const t = text; text = ''; return t } }
}

describe('quloud trust against a daemon', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  let dataDir: string
  before(async () => {
    dir = await tempDir('quloud-cli-trust-')
    dataDir = join(dir.path, 'node')
    await initDataDir(dataDir, randomBytes(32), {
      ...DEFAULT_CONFIG, listen: ['/ip4/127.0.0.1/tcp/0'], api: '127.0.0.1:0', mdns: false, federation: `t-${randomBytes(4).toString('hex')}`, capacity: 4 * 2 ** 40
    })
  })
  after(async () => { await dir.cleanup() })

  it('adds, lists and removes trusted peers; peers shows the allowance; they outlive a restart', async () => {
    const alice = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const io = capture()
    let node = await startNode({ dataDir, loggers: silentLoggerFactory })
    try {
      await runTrustAdd(alice, { dataDir, quota: '1TB', name: 'alice' }, io)
      assert.match(io.text(), new RegExp(`trusted ${alice} .*alice`))
      await refusedRemotely(runTrustAdd('not-a-peer', { dataDir, quota: '1TB' }, io), InvalidInputError)
      await rejectsWith(runTrustAdd(alice, { dataDir, quota: 'lots' }, io), InvalidInputError)
      const peers = await runPeers({ dataDir, json: true }, io)
      io.text()
      assert.deepEqual(peers.allowances.find((p) => p.peerId === alice), {
        peerId: alice, standing: 'trusted', name: 'alice', allowance: parseSize('1TB'), storesHere: 0, weStoreThere: 0
      })
      await runPeers({ dataDir }, io)
      const row = io.text().split('\n').find((line) => line.startsWith(alice))
      assert.match(row ?? '', new RegExp(`^\\S+\\s+trusted\\s+${formatSize(parseSize('1TB'))}\\s+0 B\\s+0 B\\s+-\\s+alice$`))
    } finally {
      await node.stop()
    }
    node = await startNode({ dataDir, loggers: silentLoggerFactory })
    try {
      assert.deepEqual((await runTrustList({ dataDir }, io)).map((p) => [p.peerId, p.quota, p.name]), [[alice, parseSize('1TB'), 'alice']])
      assert.match(io.text(), /alice/)
      await runTrustRemove(alice, { dataDir }, io)
      await refusedRemotely(runTrustRemove(alice, { dataDir }, io), NotFoundError)
      assert.deepEqual(await runTrustList({ dataDir }, io), [])
      assert.equal(io.text().split('\n').at(-2), 'no trusted peers')
    } finally {
      await node.stop()
    }
  })

  it('a malformed trust file stops start-up with TrustFileError and is left as it was', async () => {
    const path = join(dataDir, FILES.trust)
    const damaged = '{"format": 1, "peers": [{"peerId": "x"'
    await writeFile(path, damaged)
    await rejectsWith(startNode({ dataDir, loggers: silentLoggerFactory }), TrustFileError)
    assert.equal(await readFile(path, 'utf8'), damaged)
  })
})
