import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { PeersResponse } from '../src/app/federation-status.ts'
import type { NodeStatus } from '../src/app/node-status.ts'
import { initNode, NodeProcess, runQuloud } from './helpers/node-process.ts'
import { tempDir } from './helpers/temp-dir.ts'
import { waitFor } from './helpers/wait-for.ts'

// A federation name of its own, so concurrent runs on this machine never meet over mDNS.
const FEDERATION = `t-${randomBytes(4).toString('hex')}`
const GIB = 2 ** 30

describe('three node processes on mDNS only', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  const nodes: NodeProcess[] = []
  const capacities = [1 * GIB, 2 * GIB, 3 * GIB]

  before(async () => {
    dir = await tempDir()
    const dataDirs = capacities.map((_, i) => join(dir.path, `node${i + 1}`))
    await Promise.all(dataDirs.map(async (dataDir, i) => initNode(dataDir, {
      federation: FEDERATION,
      capacity: capacities[i],
      mdns: true,
      bootstrap: [],
      announceInterval: '5s',
      livenessInterval: '2s',
      discoveryInterval: '5s'
    })))
    for (const dataDir of dataDirs) nodes.push(await NodeProcess.start({ dataDir }))
  })

  after(async () => {
    await Promise.all(nodes.map(async (node) => node.stop()))
    await dir.cleanup()
  })

  it('discover each other and exchange announcements', async (t) => {
    const started = Date.now()
    for (const node of nodes) {
      const others = nodes.filter((n) => n !== node)
      await waitFor(async () => {
        const { peers } = await node.api<PeersResponse>('/v1/peers')
        return others.every((other) => peers.some((p) => p.peerId === other.peerId && p.announcement !== null && p.liveness.reachable))
      }, { what: `${node.peerId} to list the other two`, timeoutMs: 60_000 })
    }
    t.diagnostic(`mDNS: three peer books complete and live ${Date.now() - started} ms after the last node started`)

    // through the CLI, as a user would see it
    for (const [i, node] of nodes.entries()) {
      const result = await runQuloud(['peers', '--json', '--data-dir', node.dataDir])
      assert.equal(result.code, 0, result.stderr)
      const answer = JSON.parse(result.stdout) as PeersResponse
      assert.equal(answer.federation, FEDERATION)
      assert.equal(answer.peers.length, 2)
      assert.equal(answer.live, 2)
      for (const [j, other] of nodes.entries()) {
        if (j === i) continue
        const entry = answer.peers.find((p) => p.peerId === other.peerId)
        assert.ok(entry, `node ${i + 1} lists node ${j + 1}`)
        assert.equal(entry.announcement?.capacity, capacities[j])
        assert.equal(entry.announcement?.free, capacities[j])
        assert.equal(entry.announcement?.proofSystem, answer.proofSystemId)
        assert.ok(entry.addresses.some((a) => a.startsWith('/ip4/127.0.0.1/tcp/')))
      }
      assert.equal(answer.announcements.rejected, 0)
    }
  })

  it('reports reachability and peer counts in status', async () => {
    const result = await runQuloud(['status', '--json', '--data-dir', nodes[0]!.dataDir])
    assert.equal(result.code, 0, result.stderr)
    const status = JSON.parse(result.stdout) as NodeStatus
    const network = status.network!
    assert.equal(network.federation, FEDERATION)
    assert.equal(network.mdns, true)
    assert.ok(network.listen.some((a) => a.startsWith('/ip4/127.0.0.1/tcp/')))
    assert.ok(network.announced.length > 0)
    assert.deepEqual(network.relay, [])
    assert.equal(network.autonat.enabled, false, 'loopback-only nodes skip AutoNAT')
    assert.equal(network.autonat.publiclyReachable, false)
    assert.equal(network.peers.known, 2)
    assert.equal(network.peers.live, 2)
    assert.ok(network.peers.connected >= 2)
  })

  it('stop cleanly on SIGTERM', async () => {
    for (const node of nodes) {
      assert.equal(await node.stop(), 0, node.stderr)
      assert.match(node.stderr, /INFO {2}quloud:node stopped/)
    }
  })
})
