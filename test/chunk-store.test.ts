import { FsChunkStore } from '../src/adapters/chunk-store/fs-chunk-store.ts'
import { LevelChunkStore } from '../src/adapters/chunk-store/level-chunk-store.ts'
import { MemoryChunkStore } from '../src/adapters/chunk-store/memory-chunk-store.ts'
import { chunkStoreSuite } from './conformance/chunk-store.suite.ts'

chunkStoreSuite('MemoryChunkStore', { durable: false, open: async () => new MemoryChunkStore() })
chunkStoreSuite('FsChunkStore', { durable: true, open: async (root) => FsChunkStore.open({ root }) })
chunkStoreSuite('LevelChunkStore', { durable: true, open: async (dir) => LevelChunkStore.open({ location: dir }) })
