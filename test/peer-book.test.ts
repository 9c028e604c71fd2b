import { LevelPeerBook } from '../src/adapters/peer-book/level-peer-book.ts'
import { MemoryPeerBook } from '../src/adapters/peer-book/memory-peer-book.ts'
import { peerBookSuite } from './conformance/peer-book.suite.ts'

peerBookSuite('MemoryPeerBook', { durable: false, open: async () => new MemoryPeerBook() })
peerBookSuite('LevelPeerBook', { durable: true, open: async (dir) => LevelPeerBook.open({ location: dir }) })
