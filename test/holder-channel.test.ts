import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { HolderChannel } from '../src/app/owner/holder-channel.ts'
import { ProtocolError, QuotaExceededError } from '../src/domain/protocol/federation-errors.ts'
import type { FederationClient, StoreChannel } from '../src/ports/federation-client.ts'

/** A federation whose n-th opened store stream fails every store with `failures[n]`. */
function federation (failures: Array<Error | undefined>): FederationClient & { opened: number } {
  const fake = {
    opened: 0,
    candidates: async () => [],
    openSession: async () => { throw new Error('not used') },
    openStore: async (peerId: string): Promise<StoreChannel> => {
      const failure = failures[fake.opened++]
      return {
        store: async (chunk) => {
          if (failure !== undefined) throw failure
          return { peerId, chunkId: chunk.chunkId, timeMs: 1, signature: '' }
        },
        close: async () => {}
      }
    }
  }
  return fake
}

const chunk = { chunkId: 'bafkreiabc', commitment: '1', data: new Uint8Array(1) }

describe('HolderChannel', () => {
  it('reopens a broken stream once for all the chunks in flight and sends them again', async () => {
    const fed = federation([new ProtocolError('stream reset'), undefined])
    const holder = await HolderChannel.open('peerB', fed)
    const receipts = await Promise.all([holder.store(chunk), holder.store(chunk), holder.store(chunk)])
    assert.equal(receipts.length, 3)
    assert.equal(fed.opened, 2)
  })

  it('does not retry a refusal of the request itself', async () => {
    const fed = federation([new QuotaExceededError('full')])
    const holder = await HolderChannel.open('peerB', fed)
    await assert.rejects(holder.store(chunk), { name: 'QuotaExceededError' })
    assert.equal(fed.opened, 1)
  })

  it('gives the holder up after two reopens', async () => {
    const broken = new ProtocolError('stream reset')
    const fed = federation([broken, broken, broken, undefined])
    const holder = await HolderChannel.open('peerB', fed)
    await assert.rejects(holder.store(chunk), { name: 'ProtocolError' })
    assert.equal(fed.opened, 3)
  })
})
