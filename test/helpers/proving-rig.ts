import { join } from 'node:path'
import type { Libp2p } from '@libp2p/interface'
import { loadProofArtefacts } from '../../src/adapters/proof/artefacts.ts'
import { SnarkjsProver } from '../../src/adapters/proof/snarkjs-prover.ts'
import { SnarkjsVerifier } from '../../src/adapters/proof/snarkjs-verifier.ts'
import { SessionClient } from '../../src/adapters/libp2p/protocols/session-client.ts'
import { poseidonCommitment } from '../../src/domain/proofs/poseidon-commitment.ts'
import { introduce, startClientHost, startStorageNode, type TestStorageNode, type TestStorageNodeOptions } from './storage-node.ts'
import { tempDir } from './temp-dir.ts'

/**
 * Storage nodes with a real verifier, and an owner host with a real prover that knows
 * where they listen: what a test or bench of proven sessions sets up and tears down.
 */
export interface ProvingRig {
  prover: SnarkjsProver
  verifier: SnarkjsVerifier
  nodes: TestStorageNode[]
  owner: Libp2p
  /** A session proven with `secret` for `action` on `node` (the first by default). */
  open (action: 'read' | 'delete', secret: bigint, node?: TestStorageNode): Promise<SessionClient>
  /** Stops the owner, every node, the prover and verifier, and removes the nodes' directories. */
  stop (): Promise<void>
}

export async function startProvingRig (options: { nodes?: number, prefix?: string } & Omit<TestStorageNodeOptions, 'dir' | 'verifier'> = {}): Promise<ProvingRig> {
  const { nodes: count = 1, prefix, ...nodeOptions } = options
  const dir = await tempDir(prefix)
  const artefacts = await loadProofArtefacts()
  const prover = await SnarkjsProver.create({ artefacts })
  const verifier = await SnarkjsVerifier.create({ verificationKey: artefacts.verificationKey })
  const nodes: TestStorageNode[] = []
  let owner: Libp2p | undefined
  const stop = async (): Promise<void> => {
    await owner?.stop()
    for (const node of nodes) await node.stop()
    await prover.close()
    await verifier.close()
    await dir.cleanup()
  }
  try {
    for (let i = 0; i < count; i++) nodes.push(await startStorageNode({ ...nodeOptions, dir: join(dir.path, `n${i}`), verifier }))
    owner = await startClientHost()
    for (const node of nodes) await introduce(owner, node)
  } catch (err) {
    await stop()
    throw err
  }
  const host = owner
  return {
    prover,
    verifier,
    nodes,
    owner: host,
    open: async (action, secret, node = nodes[0]!) => SessionClient.open({ host, peer: node.host.peerId, action, secret, commitment: poseidonCommitment(secret), prover }),
    stop
  }
}
