import { randomBytes } from 'node:crypto'
import { AtRestEncryptedChunkStore } from '../src/adapters/chunk-store/at-rest-encrypted-chunk-store.ts'
import { FsChunkStore } from '../src/adapters/chunk-store/fs-chunk-store.ts'
import { LevelChunkStore } from '../src/adapters/chunk-store/level-chunk-store.ts'
import { MemoryChunkStore } from '../src/adapters/chunk-store/memory-chunk-store.ts'
import { chunkStoreSuite } from './conformance/chunk-store.suite.ts'

chunkStoreSuite('MemoryChunkStore', { durable: false, open: async () => new MemoryChunkStore() })
chunkStoreSuite('FsChunkStore', { durable: true, open: async (root) => FsChunkStore.open({ root }) })
chunkStoreSuite('LevelChunkStore', { durable: true, open: async (dir) => LevelChunkStore.open({ location: dir }) })

// the node's at-rest layer is a wrapper and must keep the same contract over any adapter
chunkStoreSuite('AtRestEncryptedChunkStore(MemoryChunkStore)', {
  durable: false,
  open: async () => new AtRestEncryptedChunkStore({ inner: new MemoryChunkStore(), key: randomBytes(32) })
})
const fsKey = randomBytes(32) // one key per run: reopening must read what was written
chunkStoreSuite('AtRestEncryptedChunkStore(FsChunkStore)', {
  durable: true,
  open: async (root) => new AtRestEncryptedChunkStore({ inner: await FsChunkStore.open({ root }), key: fsKey })
})
