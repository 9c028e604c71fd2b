import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { silentLoggerFactory } from '../../src/adapters/logging/stderr-logger.ts'
import type { StorageService } from '../../src/app/storage-service.ts'
import { startBareHost } from '../../src/assembly/host.ts'
import { startStandaloneStorageNode } from '../../src/assembly/standalone-storage-node.ts'
import type { StorageServeInit, StorageSideInit } from '../../src/assembly/storage-side.ts'
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

export interface TestStorageNodeOptions extends Partial<Pick<StorageServeInit, 'limits' | 'budgets' | 'challengeTtlMs' | 'sessionTtlMs' | 'idleTimeoutMs' | 'proofAdmission' | 'hasStanding'>> {
  dir: string
  verifier: Verifier
  capacity?: number
  peerQuota?: number
  leases?: StorageSideInit['leases']
}

/**
 * An in-process storage node on 127.0.0.1: the daemon's storage half (fs + at-rest +
 * LevelDB, the protocols, orphan collection) on a bare host, with fresh keys.
 */
export async function startStorageNode (options: TestStorageNodeOptions): Promise<TestStorageNode> {
  const { dir, capacity, peerQuota, ...serving } = options
  const chunksDir = join(dir, 'chunks')
  const node = await startStandaloneStorageNode({
    ...serving,
    chunksDir,
    metadataDir: join(dir, 'metadata'),
    atRestKey: randomBytes(32),
    capacity: capacity ?? 1e9,
    peerQuota: peerQuota ?? 1e9,
    loggers: silentLoggerFactory
  })
  return { host: node.host, privateKey: node.privateKey, storage: node.side.storage, chunkStore: node.side.chunkStore, chunksDir, stop: node.stop }
}

/** A bare libp2p host acting as owner/requester. */
export async function startClientHost (): Promise<Libp2p> {
  return startBareHost()
}

/** Tells `client` where `node` listens, as discovery would. */
export async function introduce (client: Libp2p, node: TestStorageNode): Promise<void> {
  await client.peerStore.merge(node.host.peerId, { multiaddrs: node.host.getMultiaddrs() })
}

/**
 * Proof admission that lets one client fail proof after proof: for suites that pin
 * each refusal of the protocol in turn (test/proof-admission*.test.ts test the cooldowns).
 */
export const NO_PROOF_COOLDOWN = { firstCooldownMs: 0, subnetFailureBurst: 10_000, strangerFailureBurst: 10_000 }
