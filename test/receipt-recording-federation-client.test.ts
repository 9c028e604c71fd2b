import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { recordReceipts, type ReceiptRecorder } from '../src/app/admission/receipt-recording-federation-client.ts'
import { commitmentToDecimal, poseidonCommitment } from '../src/domain/proofs/poseidon-commitment.ts'
import { InvalidProofError } from '../src/domain/protocol/federation-errors.ts'
import { NotFoundError } from '../src/errors.ts'
import type { FederationClient, StoreChunkRequest } from '../src/ports/federation-client.ts'

function fakeFederation (behaviour: { storeFails?: boolean, deleteFails?: Error }): FederationClient {
  return {
    candidates: async () => [],
    openStore: async (peerId: string) => ({
      store: async (chunk: StoreChunkRequest) => {
        if (behaviour.storeFails === true) throw new InvalidProofError('the receipt did not verify')
        return { peerId, chunkId: chunk.chunkId, timeMs: 1, signature: '' }
      },
      close: async () => {}
    }),
    openSession: async () => ({
      get: async () => new Uint8Array(),
      list: async () => ({ chunkIds: [], more: false }),
      delete: async () => {
        if (behaviour.deleteFails !== undefined) throw behaviour.deleteFails
        return { bytesRemoved: true }
      },
      renew: async (ids: string[]) => ({ expiresAt: 1, missing: ids.filter((id) => id.startsWith('gone')) }),
      close: async () => {}
    })
  } as unknown as FederationClient
}

function recorder (): ReceiptRecorder & { events: string[] } {
  const events: string[] = []
  return {
    events,
    stored: async (peer, chunk, d, bytes) => { events.push(`+${peer}/${chunk}/${d}/${bytes}`) },
    deleted: async (peer, chunk, d) => { events.push(`-${peer}/${chunk}/${d}`) }
  }
}

const D = commitmentToDecimal(poseidonCommitment(42n))

describe('receipt-recording federation client', () => {
  it('counts a chunk once its receipt came back, and a delete under D = Poseidon(d)', async () => {
    const rec = recorder()
    const client = recordReceipts(fakeFederation({}), rec)
    const channel = await client.openStore('P')
    await channel.store({ chunkId: 'c1', commitment: '7', deleteCommitment: D, data: new Uint8Array(300) })
    const session = await client.openSession('P', { action: 'delete', secret: 42n })
    await session.delete('c1')
    assert.deepEqual(rec.events, [`+P/c1/${D}/300`, `-P/c1/${D}`])
  })

  it('a store without a valid receipt counts nothing', async () => {
    const rec = recorder()
    const channel = await recordReceipts(fakeFederation({ storeFails: true }), rec).openStore('P')
    await assert.rejects(channel.store({ chunkId: 'c1', commitment: '7', deleteCommitment: D, data: new Uint8Array(300) }))
    assert.deepEqual(rec.events, [])
  })

  it('a peer that says it has nothing loses the credit; a failed delete keeps it', async () => {
    const gone = recorder()
    const s1 = await recordReceipts(fakeFederation({ deleteFails: new NotFoundError('none') }), gone).openSession('P', { action: 'delete', secret: 42n })
    await assert.rejects(s1.delete('c1'), NotFoundError)
    assert.deepEqual(gone.events, [`-P/c1/${D}`])
    const kept = recorder()
    const s2 = await recordReceipts(fakeFederation({ deleteFails: new InvalidProofError('no') }), kept).openSession('P', { action: 'delete', secret: 42n })
    await assert.rejects(s2.delete('c1'))
    assert.deepEqual(kept.events, [])
  })

  it('read sessions pass through untouched', async () => {
    const rec = recorder()
    const session = await recordReceipts(fakeFederation({}), rec).openSession('P', { action: 'read', secret: 1n })
    await session.delete('c1')
    assert.deepEqual(rec.events, [])
  })
  it('a renewal that names a chunk missing takes its credit away; the renewed ones keep theirs', async () => {
    const rec = recorder()
    const client = recordReceipts(fakeFederation({}), rec)
    const session = await client.openSession('P', { action: 'delete', secret: 42n })
    assert.deepEqual(await session.renew!(['kept1', 'gone1', 'kept2']), { expiresAt: 1, missing: ['gone1'] })
    assert.deepEqual(rec.events, [`-P/gone1/${D}`])
  })
})
