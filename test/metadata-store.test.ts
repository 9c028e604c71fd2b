import { LevelMetadataStore } from '../src/adapters/metadata-store/level-metadata-store.ts'
import { MemoryMetadataStore } from '../src/adapters/metadata-store/memory-metadata-store.ts'
import { metadataStoreSuite } from './conformance/metadata-store.suite.ts'

// the LevelMetadataStore tests that stood here are in the suite, with the same assertions
metadataStoreSuite('LevelMetadataStore', { durable: true, open: async (dir) => LevelMetadataStore.open({ location: dir }) })
metadataStoreSuite('MemoryMetadataStore', { durable: false, open: async () => new MemoryMetadataStore() })
