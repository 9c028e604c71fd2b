import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { observeTraffic } from '../src/app/traffic-observing-federation-client.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { MemoryFederation } from './helpers/memory-federation.ts'

describe('observeTraffic (FederationClient wrapper)', () => {
  it('reports each exchange a peer completed, and nothing for one that failed', async () => {
    const inner = new MemoryFederation()
    inner.addPeer('b')
    const seen: string[] = []
    const federation = observeTraffic(inner, (peerId) => seen.push(peerId))
    assert.deepEqual((await federation.candidates()).map((c) => c.peerId), ['b'])
    assert.deepEqual(seen, [], 'asking for candidates is no traffic with anyone')

    const data = new Uint8Array([1, 2, 3])
    const chunkId = chunkIdOf(data)
    const channel = await federation.openStore('b')
    const receipt = await channel.store({ chunkId, commitment: '42', deleteCommitment: '42', data })
    assert.equal(receipt.chunkId, chunkId, 'results pass through')
    await assert.rejects(channel.store({ chunkId, commitment: '42', deleteCommitment: '42', data: new Uint8Array([9]) }))
    await channel.close()
    assert.deepEqual(seen, ['b', 'b'], 'opened, one chunk acknowledged; the refused one reports nothing')

    const session = await federation.openSession('b', { action: 'read', secret: 1n })
    await assert.rejects(session.get(chunkId), { name: 'NotFoundError' })
    assert.deepEqual(await session.list(), [])
    await session.close()
    assert.deepEqual(seen, ['b', 'b', 'b', 'b'])

    inner.reachable.delete('b')
    await assert.rejects(federation.openStore('b'))
    assert.equal(seen.length, 4, 'an unreachable peer reports nothing')
  })
})
