import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { AtRestEncryptedChunkStore } from '../../src/adapters/chunk-store/at-rest-encrypted-chunk-store.ts'
import { FsChunkStore } from '../../src/adapters/chunk-store/fs-chunk-store.ts'
import { createHost } from '../../src/adapters/libp2p/create-host.ts'
import { startFederationProtocols, type FederationProtocolsInit } from '../../src/adapters/libp2p/protocols/federation-protocols.ts'
import { MAX_CHUNK_BYTES } from '../../src/adapters/libp2p/wire/constants.ts'
import { silentLoggerFactory } from '../../src/adapters/logging/stderr-logger.ts'
import { LevelMetadataStore } from '../../src/adapters/metadata-store/level-metadata-store.ts'
import { StorageService } from '../../src/app/storage-service.ts'
import { randomBytes } from 'node:crypto'
import type { ChunkStore } from '../../src/ports/chunk-store.ts'
import type { Verifier } from '../../src/ports/verifier.ts'

export interface TestStorageNode {
  host: Libp2p
  privateKey: PrivateKey
  storage: StorageService
  chunkStore: ChunkStore
  chunksDir: string
  stop (): Promise<void>
}

export interface TestStorageNodeOptions extends Partial<Pick<FederationProtocolsInit, 'limits' | 'challengeTtlMs' | 'sessionTtlMs' | 'idleTimeoutMs'>> {
  dir: string
  verifier: Verifier
  capacity?: number
  peerQuota?: number
}

/** An in-process storage node on 127.0.0.1 with the real stores and protocols. */
export async function startStorageNode (options: TestStorageNodeOptions): Promise<TestStorageNode> {
  const privateKey = await generateKeyPair('Ed25519')
  const chunksDir = join(options.dir, 'chunks')
  const chunkStore = new AtRestEncryptedChunkStore({ inner: await FsChunkStore.open({ root: chunksDir }), key: randomBytes(32) })
  const metadata = await LevelMetadataStore.open({ location: join(options.dir, 'metadata') })
  const storage = new StorageService({
    chunkStore, metadata, capacity: options.capacity ?? 1e9, peerQuota: options.peerQuota ?? 1e9, maxChunkBytes: MAX_CHUNK_BYTES
  })
  const host = await createHost({ privateKey, listen: ['/ip4/127.0.0.1/tcp/0'] })
  await host.start()
  const protocols = await startFederationProtocols({
    host, privateKey, storage, verifier: options.verifier, loggers: silentLoggerFactory,
    limits: options.limits, challengeTtlMs: options.challengeTtlMs, sessionTtlMs: options.sessionTtlMs, idleTimeoutMs: options.idleTimeoutMs
  })
  return {
    host, privateKey, storage, chunkStore, chunksDir,
    async stop () {
      await protocols.stop()
      await host.stop()
      await chunkStore.close()
      await metadata.close()
    }
  }
}

/** A bare libp2p host acting as owner/requester. */
export async function startClientHost (): Promise<Libp2p> {
  const host = await createHost({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'] })
  await host.start()
  return host
}

/** Tells `client` where `node` listens, as discovery would. */
export async function introduce (client: Libp2p, node: TestStorageNode): Promise<void> {
  await client.peerStore.merge(node.host.peerId, { multiaddrs: node.host.getMultiaddrs() })
}
