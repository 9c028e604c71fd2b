import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { MemoryChunkStore } from '../src/adapters/chunk-store/memory-chunk-store.ts'
import { MemoryMetadataStore } from '../src/adapters/metadata-store/memory-metadata-store.ts'
import { StorageService } from '../src/app/storage-service.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { recordCharge } from '../src/domain/protocol/record-charge.ts'

const QUOTA = 1.5 * recordCharge(900)

describe('StorageService quota when a record outlived its bytes', () => {
  it('a peer that stores again a record another peer holds is not charged past its quota', async () => {
    const chunkStore = new MemoryChunkStore()
    const metadata = new MemoryMetadataStore()
    const storage = new StorageService({ chunkStore, metadata, capacity: 1e9, allowanceOf: async () => QUOTA, maxChunkBytes: 2 ** 20 + 1024 })
    const data = randomBytes(800)
    const chunkId = chunkIdOf(data)
    await storage.store({ chunkId, commitment: '77', deleteCommitment: '77', data, from: 'peerA' })
    const filler = randomBytes(900)
    await storage.store({ chunkId: chunkIdOf(filler), commitment: '78', deleteCommitment: '78', data: filler, from: 'peerB' })
    await chunkStore.delete(chunkId) // the medium lost the bytes; the record stays
    // peerB, with one record charged of the room for one and a half, sends the same chunk under the same commitment
    await storage.store({ chunkId, commitment: '77', deleteCommitment: '77', data, from: 'peerB' }).catch(() => {})
    assert.ok(await metadata.bytesStoredBy('peerB') <= QUOTA, `peerB holds ${await metadata.bytesStoredBy('peerB')} bytes with a quota of ${QUOTA}`)
  })
})
