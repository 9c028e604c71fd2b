import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { afterEach, beforeEach, describe, it } from 'node:test'
import type { ChunkStore } from '../../src/ports/chunk-store.ts'
import { tempDir } from '../helpers/temp-dir.ts'

export interface ChunkStoreHarness {
  /** Opens the adapter on `dir`; opening the same dir again must see durable data. */
  open (dir: string): Promise<ChunkStore>
  /** Adapters that keep data across close and reopen. */
  durable: boolean
}

let counter = 0
/** A valid, unique chunk id (CIDv1 base32 shape). */
export function newId (): string {
  counter++
  return 'bafkrei' + randomBytes(30).toString('hex').replace(/[0189]/g, 'a').slice(0, 52) + String.fromCharCode(97 + (counter % 26))
}

/**
 * The ChunkStore contract (src/ports/chunk-store.ts) as tests. Every adapter runs it.
 */
export function chunkStoreSuite (name: string, harness: ChunkStoreHarness): void {
  describe(`ChunkStore conformance: ${name}`, () => {
    let dir: Awaited<ReturnType<typeof tempDir>>
    let store: ChunkStore

    // a fresh store for every test, so none depends on what an earlier one left behind
    beforeEach(async () => {
      dir = await tempDir()
      store = await harness.open(dir.path)
    })
    afterEach(async () => {
      await store.close()
      await dir.cleanup()
    })

    it('round-trips a value', async () => {
      const id = newId()
      const bytes = randomBytes(1000)
      await store.put(id, bytes)
      assert.deepEqual(Buffer.from(await store.get(id)), bytes)
      assert.equal(await store.has(id), true)
    })

    it('stores a copy: mutating the caller buffer changes nothing', async () => {
      const id = newId()
      const bytes = new Uint8Array([1, 2, 3])
      await store.put(id, bytes)
      bytes[0] = 9
      assert.deepEqual([...await store.get(id)], [1, 2, 3])
    })

    it('stores an empty value', async () => {
      const id = newId()
      await store.put(id, new Uint8Array(0))
      assert.equal((await store.get(id)).byteLength, 0)
      assert.equal(await store.has(id), true)
    })

    it('rejects a missing id with NotFoundError', async () => {
      const id = newId()
      await assert.rejects(store.get(id), { name: 'NotFoundError' })
      assert.equal(await store.has(id), false)
    })

    it('deletes idempotently and the value is gone', async () => {
      const id = newId()
      await store.put(id, randomBytes(10))
      await store.delete(id)
      await store.delete(id)
      await assert.rejects(store.get(id), { name: 'NotFoundError' })
      assert.equal(await store.has(id), false)
    })

    it('overwrites an existing id and counts bytes once', async () => {
      const id = newId()
      const before = await store.usedBytes()
      await store.put(id, randomBytes(100))
      const second = randomBytes(40)
      await store.put(id, second)
      assert.deepEqual(Buffer.from(await store.get(id)), second)
      assert.equal(await store.usedBytes(), before + 40)
      await store.delete(id)
      assert.equal(await store.usedBytes(), before)
    })

    it('rejects malformed ids with InvalidInputError', async () => {
      for (const bad of ['', 'short', 'UPPERCASE-NOT-BASE32', '../../etc/passwd', 'a'.repeat(129), 'bafy/slash'] ) {
        await assert.rejects(store.put(bad, new Uint8Array(1)), { name: 'InvalidInputError' }, bad)
        await assert.rejects(store.get(bad), { name: 'InvalidInputError' }, bad)
        await assert.rejects(store.has(bad), { name: 'InvalidInputError' }, bad)
        await assert.rejects(store.delete(bad), { name: 'InvalidInputError' }, bad)
      }
    })

    it('rejects values over the limit with TooLargeError and stores nothing', async () => {
      const id = newId()
      const before = await store.usedBytes()
      await assert.rejects(store.put(id, new Uint8Array(8 * 1024 * 1024 + 1)), { name: 'TooLargeError' })
      assert.equal(await store.has(id), false)
      assert.equal(await store.usedBytes(), before)
    })

    it('stores large values (4 MiB)', async () => {
      const id = newId()
      const bytes = randomBytes(4 * 1024 * 1024)
      await store.put(id, bytes)
      assert.ok(Buffer.from(await store.get(id)).equals(bytes))
    })

    it('handles concurrent puts of different ids', async () => {
      const items = Array.from({ length: 50 }, () => ({ id: newId(), bytes: randomBytes(2000) }))
      const before = await store.usedBytes()
      await Promise.all(items.map(async ({ id, bytes }) => store.put(id, bytes)))
      for (const { id, bytes } of items) assert.ok(Buffer.from(await store.get(id)).equals(bytes))
      assert.equal(await store.usedBytes(), before + 50 * 2000)
    })

    it('handles concurrent puts of the same id: one value whole, counted once', async () => {
      const id = newId()
      const values = Array.from({ length: 10 }, () => randomBytes(5000))
      const before = await store.usedBytes()
      await Promise.all(values.map(async (v) => store.put(id, v)))
      const stored = Buffer.from(await store.get(id))
      assert.ok(values.some((v) => v.equals(stored)))
      assert.equal(await store.usedBytes(), before + 5000)
      assert.equal(await store.count(), 1)
    })

    it('honours an already-fired AbortSignal on every method without any effect', async () => {
      const id = newId()
      const signal = AbortSignal.abort()
      await assert.rejects(store.put(id, randomBytes(10), { signal }), { name: 'AbortError' })
      assert.equal(await store.has(id), false)
      await store.put(id, randomBytes(10))
      await assert.rejects(store.get(id, { signal }), { name: 'AbortError' })
      await assert.rejects(store.has(id, { signal }), { name: 'AbortError' })
      await assert.rejects(store.delete(id, { signal }), { name: 'AbortError' })
      assert.equal(await store.has(id), true)
      await assert.rejects(store.usedBytes({ signal }), { name: 'AbortError' })
      await assert.rejects(store.count({ signal }), { name: 'AbortError' })
      await assert.rejects((async () => { for await (const _ of store.ids({ signal })) { /* none */ } })(), { name: 'AbortError' })
    })

    it('a put aborted while in flight leaves either the whole value or nothing', async () => {
      for (let i = 0; i < 20; i++) {
        const id = newId()
        const bytes = randomBytes(256 * 1024)
        const controller = new AbortController()
        const put = store.put(id, bytes, { signal: controller.signal })
        // abort at a different point of the write each round
        await new Promise((resolve) => setTimeout(resolve, i % 4))
        controller.abort()
        const outcome = await put.then(() => 'stored', (err: Error) => err.name)
        if (outcome === 'stored') {
          assert.ok(Buffer.from(await store.get(id)).equals(bytes))
        } else {
          assert.equal(outcome, 'AbortError')
          assert.equal(await store.has(id), false)
          await assert.rejects(store.get(id), { name: 'NotFoundError' })
        }
      }
    })

    it('iterates ids without duplicates, including while writing', async () => {
      const present = new Set<string>()
      for (let i = 0; i < 30; i++) {
        const id = newId()
        await store.put(id, randomBytes(8))
        present.add(id)
      }
      const seen = new Set<string>()
      const added: string[] = []
      for await (const id of store.ids()) {
        assert.ok(!seen.has(id), `duplicate ${id}`)
        seen.add(id)
        if (added.length < 10) {
          const fresh = newId()
          added.push(fresh)
          await store.put(fresh, randomBytes(8))
        }
      }
      for (const id of present) assert.ok(seen.has(id), `missing ${id}`)
      for (const id of added) assert.equal(await store.has(id), true)
    })

    it('iterates an id deleted and put again during iteration at most once', async () => {
      const ids: string[] = []
      for (let i = 0; i < 20; i++) {
        ids.push(newId())
        await store.put(ids[i]!, randomBytes(8))
      }
      const seen = new Set<string>()
      let round = 0
      for await (const id of store.ids()) {
        assert.ok(!seen.has(id), `duplicate ${id}`)
        seen.add(id)
        // the id just seen and one not seen yet both go and come back
        if (round++ < 10) {
          await store.delete(id)
          await store.put(id, randomBytes(8))
          const ahead = ids.find((other) => !seen.has(other))
          if (ahead !== undefined) {
            await store.delete(ahead)
            await store.put(ahead, randomBytes(8))
          }
        }
      }
      for (const id of ids) assert.equal(await store.has(id), true)
    })

    it('usedBytes is the sum of stored lengths', async () => {
      const ids = Array.from({ length: 6 }, () => newId())
      for (const [i, id] of ids.entries()) await store.put(id, randomBytes(100 * (i + 1)))
      await store.put(ids[0]!, randomBytes(7))
      await store.delete(ids[1]!)
      let sum = 0
      let n = 0
      for await (const id of store.ids()) {
        sum += (await store.get(id)).byteLength
        n++
      }
      assert.equal(await store.usedBytes(), sum)
      assert.equal(await store.count(), n)
      assert.equal(n, 5)
    })

    if (harness.durable) {
      it('keeps data across close and reopen', async () => {
        const id = newId()
        const bytes = randomBytes(3000)
        await store.put(id, bytes)
        const deleted = newId()
        await store.put(deleted, randomBytes(3))
        await store.delete(deleted)
        const used = await store.usedBytes()
        const count = await store.count()
        await store.close()
        await assert.rejects(store.get(id), { name: 'ClosedError' })
        store = await harness.open(dir.path)
        assert.ok(Buffer.from(await store.get(id)).equals(bytes))
        assert.equal(await store.has(deleted), false)
        assert.equal(await store.usedBytes(), used)
        assert.equal(await store.count(), count)
      })
    }

    it('rejects calls after close with ClosedError; close is idempotent', async () => {
      const other = await tempDir()
      const s = await harness.open(other.path)
      await s.close()
      await s.close()
      await assert.rejects(s.put(newId(), new Uint8Array(1)), { name: 'ClosedError' })
      await assert.rejects(s.get(newId()), { name: 'ClosedError' })
      await other.cleanup()
    })
  })
}
