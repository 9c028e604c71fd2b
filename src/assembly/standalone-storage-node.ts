import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { startBareHost } from './host.ts'
import { Shutdown } from './shutdown.ts'
import { openStorageSide, type StorageServeInit, type StorageSide, type StorageSideInit } from './storage-side.ts'

export interface StandaloneStorageNodeInit extends StorageSideInit, Omit<StorageServeInit, 'host' | 'privateKey'> {
  /** Default: a fresh Ed25519 identity. */
  privateKey?: PrivateKey
  /** Default: an ephemeral TCP port on 127.0.0.1. */
  listen?: string[]
}

export interface StandaloneStorageNode {
  host: Libp2p
  privateKey: PrivateKey
  side: StorageSide
  /** Removes the protocols, stops the host, then closes the storage half. */
  stop (): Promise<void>
}

/**
 * The storage half served on a bare host: a node that only keeps chunks and is
 * reached by its address, with no membership (benches, protocol and hostile-peer tests).
 */
export async function startStandaloneStorageNode (init: StandaloneStorageNodeInit): Promise<StandaloneStorageNode> {
  const privateKey = init.privateKey ?? await generateKeyPair('Ed25519')
  const shutdown = new Shutdown(init.loggers('storage-node'))
  try {
    const side = await openStorageSide(init)
    shutdown.push(async () => side.stop())
    const host = await startBareHost({ privateKey, listen: init.listen })
    shutdown.push(async () => host.stop())
    shutdown.push(await side.serve({
      host, privateKey, verifier: init.verifier,
      limits: init.limits, challengeTtlMs: init.challengeTtlMs, sessionTtlMs: init.sessionTtlMs, idleTimeoutMs: init.idleTimeoutMs
    }))
    return { host, privateKey, side, stop: async () => shutdown.run() }
  } catch (err) {
    await shutdown.run()
    throw err
  }
}
