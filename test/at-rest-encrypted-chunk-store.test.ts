import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import {
  AT_REST_OVERHEAD, AtRestEncryptedChunkStore, MAX_AT_REST_VALUE_BYTES
} from '../src/adapters/chunk-store/at-rest-encrypted-chunk-store.ts'
import { MemoryChunkStore } from '../src/adapters/chunk-store/memory-chunk-store.ts'
import { CHUNK_SIZE } from '../src/domain/formats/chunker.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { nodeAtRestKey } from '../src/domain/crypto/key-derivation.ts'
import { OWNER_CHUNK_OVERHEAD } from '../src/domain/crypto/owner-layer.ts'
import { MAX_STORED_CHUNK_BYTES } from '../src/domain/formats/chunk-id.ts'

function setup (): { inner: MemoryChunkStore, key: Uint8Array, store: AtRestEncryptedChunkStore } {
  const inner = new MemoryChunkStore()
  const key = nodeAtRestKey(randomBytes(32))
  return { inner, key, store: new AtRestEncryptedChunkStore({ inner, key }) }
}

/** A slow medium whose listing is a snapshot taken when it starts, as a directory scan can be. */
class SlowSnapshotIdsStore extends MemoryChunkStore {
  private readonly present = new Set<string>()

  override async put (id: string, bytes: Uint8Array, options?: { signal?: AbortSignal }): Promise<void> {
    await tick()
    await super.put(id, bytes, options)
    this.present.add(id)
  }

  override async delete (id: string, options?: { signal?: AbortSignal }): Promise<void> {
    await tick()
    await super.delete(id, options)
    this.present.delete(id)
  }

  override async * ids (): AsyncIterable<string> {
    for (const id of [...this.present]) {
      await tick()
      yield id
    }
  }
}

async function tick (): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve))
}

function value (): { id: string, bytes: Uint8Array } {
  const bytes = randomBytes(1000)
  return { id: chunkIdOf(bytes), bytes }
}

describe('AtRestEncryptedChunkStore', () => {
  it('hands the inner store only ciphertext, 29 bytes longer, fresh for every put', async () => {
    const { inner, store } = setup()
    const { id, bytes } = value()
    await store.put(id, bytes)
    const first = await inner.get(id)
    assert.equal(first.byteLength, bytes.byteLength + AT_REST_OVERHEAD)
    assert.equal(Buffer.from(first).indexOf(Buffer.from(bytes).subarray(0, 32)), -1)
    await store.put(id, bytes)
    const second = await inner.get(id)
    assert.ok(!Buffer.from(first).equals(second), 'a new nonce for the same value')
    assert.ok(Buffer.from(await store.get(id)).equals(bytes))
  })

  it('detects two stored values swapped on the medium', async () => {
    const { inner, store } = setup()
    const a = value()
    const b = value()
    await store.put(a.id, a.bytes)
    await store.put(b.id, b.bytes)
    const [rawA, rawB] = [await inner.get(a.id), await inner.get(b.id)]
    await inner.put(a.id, rawB)
    await inner.put(b.id, rawA)
    await assert.rejects(store.get(a.id), { name: 'AtRestDecryptionError', code: 'at-rest-decryption' })
    await assert.rejects(store.get(b.id), { name: 'AtRestDecryptionError' })
  })

  it('detects a flipped byte, a truncated value and another node key', async () => {
    const { inner, key, store } = setup()
    const { id, bytes } = value()
    await store.put(id, bytes)
    const raw = await inner.get(id)
    for (const at of [0, 1, 12, 13, 500, raw.byteLength - 1]) {
      const tampered = Uint8Array.from(raw)
      tampered[at]! ^= 0x80
      await inner.put(id, tampered)
      await assert.rejects(store.get(id), { name: 'AtRestDecryptionError' }, `byte ${at}`)
    }
    await inner.put(id, raw.subarray(0, 20))
    await assert.rejects(store.get(id), { name: 'AtRestDecryptionError' })
    await inner.put(id, raw)
    const stranger = new AtRestEncryptedChunkStore({ inner, key: nodeAtRestKey(randomBytes(32)) })
    await assert.rejects(stranger.get(id), { name: 'AtRestDecryptionError' })
    assert.ok(Buffer.from(await new AtRestEncryptedChunkStore({ inner, key }).get(id)).equals(bytes))
  })

  it('lets a full owner chunk through and refuses what would not fit the inner store', async () => {
    assert.equal(MAX_AT_REST_VALUE_BYTES, MAX_STORED_CHUNK_BYTES - AT_REST_OVERHEAD)
    assert.ok(CHUNK_SIZE + OWNER_CHUNK_OVERHEAD <= MAX_AT_REST_VALUE_BYTES)
    const { inner, store } = setup()
    const full = randomBytes(CHUNK_SIZE + OWNER_CHUNK_OVERHEAD)
    await store.put(chunkIdOf(full), full)
    assert.ok(Buffer.from(await store.get(chunkIdOf(full))).equals(full))
    const largest = new Uint8Array(MAX_AT_REST_VALUE_BYTES)
    await store.put(chunkIdOf(largest), largest)
    assert.equal((await inner.get(chunkIdOf(largest))).byteLength, MAX_STORED_CHUNK_BYTES)
    const over = new Uint8Array(MAX_AT_REST_VALUE_BYTES + 1)
    await assert.rejects(store.put(chunkIdOf(over), over), { name: 'TooLargeError' })
    assert.equal(await inner.has(chunkIdOf(over)), false)
  })

  it('counts callers\' bytes, also for values written before it was opened', async () => {
    const { inner, key, store } = setup()
    const items = Array.from({ length: 5 }, value)
    for (const { id, bytes } of items) await store.put(id, bytes)
    assert.equal(await store.usedBytes(), 5000)
    assert.equal(await inner.usedBytes(), 5000 + 5 * AT_REST_OVERHEAD)
    // a fresh wrapper over the same inner store counts the values it finds
    const reopened = new AtRestEncryptedChunkStore({ inner, key })
    assert.equal(await reopened.usedBytes(), 5000)
    await reopened.delete(items[0]!.id)
    await reopened.delete(items[0]!.id)
    await reopened.put(items[1]!.id, new Uint8Array(10))
    assert.equal(await reopened.usedBytes(), 3010)
  })

  it('counts exactly when writes race with the first count', async () => {
    const inner = new SlowSnapshotIdsStore()
    const key = nodeAtRestKey(randomBytes(32))
    const store = new AtRestEncryptedChunkStore({ inner, key })
    for (let i = 0; i < 20; i++) await store.put(value().id, new Uint8Array(100))
    const fresh = new AtRestEncryptedChunkStore({ inner, key })
    const write = async (i: number): Promise<void> => {
      const { id, bytes } = value()
      await fresh.put(id, bytes)
      if (i % 3 === 0) await fresh.delete(id)
    }
    // writes already in flight when the count starts, and writes queued behind it
    const early = Array.from({ length: 15 }, async (_, i) => write(i))
    const counted = fresh.usedBytes()
    const late = Array.from({ length: 15 }, async (_, i) => write(15 + i))
    await Promise.all([...early, counted, ...late])
    assert.equal(await fresh.usedBytes(), 20 * 100 + 20 * 1000)
    assert.equal(await inner.usedBytes(), 40 * AT_REST_OVERHEAD + 20 * 100 + 20 * 1000)
  })

  it('closes its inner store', async () => {
    const { inner, store } = setup()
    await store.close()
    await store.close()
    await assert.rejects(inner.get(value().id), { name: 'ClosedError' })
    await assert.rejects(store.usedBytes(), { name: 'ClosedError' })
  })
})
