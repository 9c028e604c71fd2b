import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { loadProofArtefacts } from '../adapters/proof/artefacts.ts'
import { WorkerPoolVerifier } from '../adapters/proof/worker-pool-verifier.ts'
import type { Verifier } from '../ports/verifier.ts'
import { startBareHost } from './host.ts'
import { Shutdown } from './shutdown.ts'
import { openStorageSide, type StorageServeInit, type StorageSide, type StorageSideInit } from './storage-side.ts'

export interface StandaloneStorageNodeInit extends StorageSideInit, Omit<StorageServeInit, 'host' | 'privateKey' | 'verifier'> {
  /**
   * Default: a verifier of the protocol's own key, closed by `stop`. Tests starting
   * many nodes share one instead (building one costs ~0.5 s).
   */
  verifier?: Verifier
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
    const verifier = init.verifier ?? await ownVerifier(shutdown)
    const side = await openStorageSide(init)
    shutdown.push(async () => side.stop())
    const host = await startBareHost({ privateKey, listen: init.listen })
    shutdown.push(async () => host.stop())
    shutdown.push(await side.serve({
      host, privateKey, verifier,
      limits: init.limits, hasStanding: init.hasStanding, proofAdmission: init.proofAdmission, challengeTtlMs: init.challengeTtlMs, sessionTtlMs: init.sessionTtlMs, idleTimeoutMs: init.idleTimeoutMs,
      budgets: init.budgets, isKnownPeer: init.isKnownPeer
    }))
    return { host, privateKey, side, stop: async () => shutdown.run() }
  } catch (err) {
    await shutdown.run()
    throw err
  }
}

async function ownVerifier (shutdown: Shutdown): Promise<Verifier> {
  // as the daemon verifies: off the event loop, in turn per network and peer
  const verifier = await WorkerPoolVerifier.create({ verificationKey: (await loadProofArtefacts()).verificationKey, workers: 1 })
  shutdown.push(async () => verifier.close())
  return verifier
}
