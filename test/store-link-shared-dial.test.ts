// A store that shares a link with a connect (the put's warm-up, or a file's plan) and
// whose first dial failed is retried on a fresh dial by the store itself; the connect's
// failure must not then drop the link, whose close would end the dial the store waits
// on and lose a chunk or pack on a holder that answers.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { PeerSessions } from '../src/app/owner/peer-sessions.ts'
import { PeerUnreachableError } from '../src/domain/protocol/federation-errors.ts'
import { AbortError } from '../src/errors.ts'
import type { AbortOptions } from '../src/ports/abort-options.ts'
import type { FederationClient, StorageCandidate, StoreChannel } from '../src/ports/federation-client.ts'

const chunk = { chunkId: 'bafkreiabc', commitment: '1', deleteCommitment: '1', data: new Uint8Array(1) }
const sleep = async (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** The first store dial fails after 5 ms (a transient failure), every later one opens after 5 ms; an aborted dial rejects with AbortError, as the libp2p adapter's does. */
function flakyFirstDial (): FederationClient & { dials: number, stored: number } {
  const fake = {
    dials: 0,
    stored: 0,
    candidates: async (): Promise<StorageCandidate[]> => [{ peerId: 'P', reachable: true, freeBytes: 1 << 30 } as StorageCandidate],
    openSession: async () => { throw new Error('not used') },
    openStore: async (peerId: string, options?: AbortOptions): Promise<StoreChannel> => {
      const n = fake.dials++
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, 5)
        options?.signal?.addEventListener('abort', () => { clearTimeout(timer); reject(new AbortError('the operation was aborted', { cause: options.signal?.reason })) }, { once: true })
      })
      if (n === 0) throw new PeerUnreachableError(`cannot open a stream to ${peerId}: transient`)
      return {
        store: async (c) => { fake.stored++; return { peerId, chunkId: c.chunkId, timeMs: 1, signature: '' } },
        close: async () => {}
      }
    }
  }
  return fake
}

describe('attack on the warm-up: a store sharing a link with a failing connect', () => {
  it('warm(): a pack/catalogue store that joined the warm dial is retried and stored', async () => {
    const fed = flakyFirstDial()
    const sessions = new PeerSessions(fed)
    sessions.warm(['P'])
    while (fed.dials === 0) await sleep(0) // warm's dial is under way
    // a pack writer / storePieces stores without connect(): it joins the warm link's dial
    const receipt = await sessions.store('P', chunk).then((r) => r, (err: Error) => err)
    await sessions.close()
    assert.ok(!(receipt instanceof Error), `store failed: ${(receipt as Error).name}: ${(receipt as Error).message}`)
    assert.equal(fed.stored, 1)
  })

  it('connect(): a store sharing the link of a concurrent connect is retried and stored (as before cc643f3)', async () => {
    const fed = flakyFirstDial()
    const sessions = new PeerSessions(fed)
    const connecting = sessions.connect('P').catch(() => {})
    const receipt = await sessions.store('P', chunk).then((r) => r, (err: Error) => err)
    await connecting
    await sessions.close()
    assert.ok(!(receipt instanceof Error), `store failed: ${(receipt as Error).name}: ${(receipt as Error).message}`)
    assert.equal(fed.stored, 1)
  })
})
