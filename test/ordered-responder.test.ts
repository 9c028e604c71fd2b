import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { respondInOrder } from '../src/adapters/libp2p/protocols/ordered-responder.ts'

/** Requests the test hands out one by one, as a peer's frames would arrive. */
function requestFeed<T> (): { next: () => Promise<T | undefined>, arrive: (request: T | undefined) => void, waiting: () => boolean } {
  const arrived: Array<T | undefined> = []
  let wake: (() => void) | undefined
  return {
    next: async () => {
      while (arrived.length === 0) await new Promise<void>((resolve) => { wake = resolve })
      wake = undefined
      return arrived.shift()
    },
    arrive: (request) => { arrived.push(request); wake?.() },
    waiting: () => wake !== undefined
  }
}

describe('respondInOrder', () => {
  it('answers in request order although later requests finish first', async () => {
    const feed = requestFeed<number>()
    const written: number[] = []
    for (const n of [1, 2, 3]) feed.arrive(n)
    feed.arrive(undefined)
    await respondInOrder(feed.next, async (n) => { await sleep(10 * (4 - n)); return n * 10 }, async (res) => { written.push(...res) }, 8)
    assert.deepEqual(written, [10, 20, 30])
  })

  it('handles no request that arrives after writing failed, and throws the write error', async () => {
    const feed = requestFeed<string>()
    const handled: string[] = []
    feed.arrive('first')
    const serving = respondInOrder(feed.next, async (req) => { handled.push(req); return req }, async () => { throw new Error('peer stopped reading') }, 8)
    await assert.rejects(serving, { message: 'peer stopped reading' })
    // the reader was waiting for the next frame when the write failed; it arrives now
    assert.ok(feed.waiting(), 'the reader is still waiting for a frame')
    feed.arrive('after the failure')
    await sleep(10)
    assert.deepEqual(handled, ['first'])
    assert.equal(feed.waiting(), false, 'the reader stopped instead of asking for more')
  })

  it('with the window full when writing fails, reads nothing more', async () => {
    const feed = requestFeed<number>()
    let reads = 0
    const counted = async (): Promise<number | undefined> => { reads++; return feed.next() }
    for (const n of [1, 2, 3, 4]) feed.arrive(n)
    let release: () => void = () => {}
    const slow = new Promise<void>((resolve) => { release = resolve })
    const serving = respondInOrder(counted, async (n) => { if (n === 1) await slow; return n }, async () => { throw new Error('write failed') }, 2)
    await sleep(10)
    assert.equal(reads, 2, 'the reader waits for room in the window')
    release()
    await assert.rejects(serving, { message: 'write failed' })
    await sleep(10)
    assert.equal(reads, 2)
  })
})

describe('respondInOrder, answers ready together', () => {
  it('writes the answers that are ready at once in one write, still in order', async () => {
    const feed = requestFeed<number>()
    const writes: number[][] = []
    for (const n of [1, 2, 3, 4]) feed.arrive(n)
    feed.arrive(undefined)
    let release: () => void = () => {}
    const gate = new Promise<void>((resolve) => { release = resolve })
    // every answer waits on one event, as the stores of one group commit do
    const serving = respondInOrder(feed.next, async (n) => { await gate; return n }, async (res) => { writes.push(res) }, 8)
    await sleep(10)
    release()
    await serving
    assert.deepEqual(writes, [[1, 2, 3, 4]])
  })

  it('a failed answer behind ready ones: those before it are written, then its error is thrown', async () => {
    const feed = requestFeed<number>()
    const writes: number[][] = []
    for (const n of [1, 2, 3]) feed.arrive(n)
    feed.arrive(undefined)
    const serving = respondInOrder(feed.next, async (n) => { if (n === 3) throw new Error('disk failed'); return n }, async (res) => { writes.push(res) }, 8)
    await assert.rejects(serving, { message: 'disk failed' })
    assert.deepEqual(writes.flat(), [1, 2])
  })
})

describe('respondInOrder, maxJoined', () => {
  it('with maxJoined 1, each write is given one answer although several are ready', async () => {
    const feed = requestFeed<number>()
    const writes: number[][] = []
    for (const n of [1, 2, 3]) feed.arrive(n)
    feed.arrive(undefined)
    await respondInOrder(feed.next, async (n) => n, async (res) => { writes.push(res) }, 8, 1)
    assert.deepEqual(writes, [[1], [2], [3]])
  })
})
