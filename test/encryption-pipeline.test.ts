import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { AtRestEncryptedChunkStore } from '../src/adapters/chunk-store/at-rest-encrypted-chunk-store.ts'
import { FsChunkStore } from '../src/adapters/chunk-store/fs-chunk-store.ts'
import { chunkIdMatches, chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { CHUNK_SIZE, positionedChunks } from '../src/domain/formats/chunker.ts'
import { newFileId } from '../src/domain/formats/file-id.ts'
import { nodeAtRestKey } from '../src/domain/crypto/key-derivation.ts'
import { generateMasterSecret } from '../src/domain/crypto/master-secret.ts'
import { OwnerChunkCipher } from '../src/domain/crypto/owner-layer.ts'
import type { ChunkStore } from '../src/ports/chunk-store.ts'
import { tempDir } from './helpers/temp-dir.ts'

/**
 * The whole encryption path, as a file takes it: read from disk, chunked, sealed by
 * the owner layer, sealed again by the storage node's at-rest layer into an
 * FsChunkStore, and back. Owner and storage node live in one process here; on the
 * network the owner ciphertext travels between them.
 */

interface Stored {
  /** The file's manifest: chunk ids in order. */
  ids: string[]
  /** What the owner sent, kept only so the test can look for it on disk. */
  sealed: Uint8Array[]
  plain: Uint8Array[]
}

async function storeFile (path: string, cipher: OwnerChunkCipher, store: ChunkStore): Promise<Stored> {
  const out: Stored = { ids: [], sealed: [], plain: [] }
  // 64 KiB reads, as fs streams do: 16 per chunk
  for await (const chunk of positionedChunks(createReadStream(path, { highWaterMark: 64 * 1024 }))) {
    const sealed = cipher.seal(chunk.index, chunk.final, chunk.bytes)
    const id = chunkIdOf(sealed)
    await store.put(id, sealed)
    out.ids.push(id)
    out.sealed.push(sealed)
    out.plain.push(chunk.bytes)
  }
  return out
}

async function restoreFile (path: string, ids: string[], cipher: OwnerChunkCipher, store: ChunkStore): Promise<void> {
  const parts: Uint8Array[] = []
  for (const [index, id] of ids.entries()) {
    const sealed = await store.get(id)
    assert.ok(chunkIdMatches(id, sealed), 'the holder returned the bytes the id names')
    parts.push(cipher.open(index, index === ids.length - 1, sealed))
  }
  await writeFile(path, parts)
}

async function * filesUnder (dir: string): AsyncGenerator<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) yield * filesUnder(path)
    else if (entry.isFile()) yield path
  }
}

describe('encryption pipeline: file -> chunker -> owner layer -> at-rest layer -> FsChunkStore -> back', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  let store: ChunkStore
  let cipher: OwnerChunkCipher

  before(async () => {
    dir = await tempDir()
    const inner = await FsChunkStore.open({ root: join(dir.path, 'store') })
    store = new AtRestEncryptedChunkStore({ inner, key: nodeAtRestKey(randomBytes(32)) })
    cipher = OwnerChunkCipher.forFile(generateMasterSecret(), newFileId())
  })
  after(async () => {
    await store.close()
    await dir.cleanup()
  })

  const sizes: Array<[string, number, number]> = [
    ['empty', 0, 0], ['1 byte', 1, 1], ['exactly one chunk', CHUNK_SIZE, 1], ['multi-chunk', 3 * CHUNK_SIZE + 12_345, 4]
  ]
  for (const [name, size, chunks] of sizes) {
    it(`restores the ${name} file byte for byte`, async () => {
      const original = randomBytes(size)
      const source = join(dir.path, `${name}.in`)
      const restored = join(dir.path, `${name}.out`)
      await writeFile(source, original)
      const { ids } = await storeFile(source, cipher, store)
      assert.equal(ids.length, chunks)
      await restoreFile(restored, ids, cipher, store)
      assert.ok((await readFile(restored)).equals(original))
    })
  }

  it('leaves neither the plaintext nor the owner ciphertext anywhere on the medium', async () => {
    const marker = Buffer.from('QULOUD-PLAINTEXT-MARKER: the quick brown fox jumps over the lazy dog. ')
    const text = Buffer.alloc(2 * CHUNK_SIZE + 777)
    for (let at = 0; at < text.byteLength; at += marker.byteLength) marker.copy(text, at)
    const source = join(dir.path, 'marker.in')
    await writeFile(source, text)
    const { ids, sealed, plain } = await storeFile(source, cipher, store)

    // what must not appear: every chunk whole, and short windows of each (start, middle, tag)
    const needles: Array<[string, Uint8Array]> = [['marker', marker.subarray(0, 24)]]
    for (const [i, p] of plain.entries()) needles.push([`plaintext chunk ${i}`, p], [`plaintext chunk ${i} middle`, p.subarray(p.byteLength >> 1, (p.byteLength >> 1) + 32)])
    for (const [i, s] of sealed.entries()) {
      const middle = s.byteLength >> 1
      needles.push([`owner ciphertext ${i}`, s], [`owner header ${i}`, s.subarray(0, 32)],
        [`owner ciphertext ${i} middle`, s.subarray(middle, middle + 32)], [`owner tag ${i}`, s.subarray(s.byteLength - 16)])
    }

    const root = join(dir.path, 'store')
    const seen = new Set<string>()
    let scanned = 0
    for await (const path of filesUnder(root)) {
      const raw = await readFile(path)
      scanned += raw.byteLength
      seen.add(path.slice(path.lastIndexOf('/') + 1))
      for (const [what, needle] of needles) assert.equal(raw.indexOf(needle), -1, `${what} found in ${path}`)
    }
    // the scan did look at the stored chunks themselves
    for (const id of ids) assert.ok(seen.has(id), `chunk ${id} not found under ${root}`)
    assert.ok(scanned >= text.byteLength)
  })
})
