import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { Libp2p, PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { loadProofArtefacts } from '../src/adapters/proof/artefacts.ts'
import { SnarkjsProver } from '../src/adapters/proof/snarkjs-prover.ts'
import { SessionClient } from '../src/adapters/libp2p/protocols/session-client.ts'
import { StoreClient } from '../src/adapters/libp2p/protocols/store-client.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { commitmentToDecimal, poseidonCommitment } from '../src/domain/proofs/poseidon-commitment.ts'
import { NodeProcess, runQuloud } from './helpers/node-process.ts'
import { startClientHost } from './helpers/storage-node.ts'
import { tempDir } from './helpers/temp-dir.ts'

describe('federation protocols between separate node processes', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  const daemons: NodeProcess[] = []
  const peers: PeerId[] = []
  let owner: Libp2p
  let prover: SnarkjsProver

  before(async () => {
    dir = await tempDir()
    const dataDirs = [0, 1, 2].map((i) => join(dir.path, `node${i}`))
    for (const d of dataDirs) assert.equal((await runQuloud(['init', '--json', '--data-dir', d])).code, 0)
    daemons.push(...await NodeProcess.startAll(dataDirs.map((dataDir) => ({ dataDir, args: ['--no-mdns'] }))))
    owner = await startClientHost()
    for (const d of dataDirs) {
      const status = JSON.parse((await runQuloud(['status', '--json', '--data-dir', d])).stdout)
      const peer = peerIdFromString(status.peerId)
      await owner.peerStore.merge(peer, { multiaddrs: status.addresses.map((a: string) => multiaddr(a)) })
      peers.push(peer)
    }
    prover = await SnarkjsProver.create({ artefacts: await loadProofArtefacts() })
  })

  after(async () => {
    await owner?.stop()
    await prover?.close()
    for (const daemon of daemons) assert.equal(await daemon.stop(), 0, daemon.stderr)
    await dir.cleanup()
  })

  it('stores on every node process and retrieves byte-identical; the daemons report used bytes', async () => {
    const secret = 987654321n
    const commitment = poseidonCommitment(secret)
    const chunks = Array.from({ length: 4 }, () => randomBytes(300_000))
    for (const peer of peers) {
      const client = await StoreClient.open(owner, peer)
      await Promise.all(chunks.map(async (data) => client.store({ chunkId: chunkIdOf(data), commitment: commitmentToDecimal(commitment), deleteCommitment: commitmentToDecimal(commitment), data })))
      await client.close()
    }
    for (const peer of peers) {
      const session = await SessionClient.open({ host: owner, peer, action: 'read', secret, commitment, prover })
      for (const data of chunks) assert.ok(Buffer.from(await session.get(chunkIdOf(data))).equals(data))
      await session.close()
    }
    const status = JSON.parse((await runQuloud(['status', '--json', '--data-dir', daemons[0]!.dataDir])).stdout)
    assert.ok(status.usedBytes >= 4 * 300_000, `used ${status.usedBytes}`)
  })

  it('a wrong secret gets no byte from a node process', async () => {
    const commitment = poseidonCommitment(42n)
    const data = randomBytes(1000)
    const client = await StoreClient.open(owner, peers[0]!)
    await client.store({ chunkId: chunkIdOf(data), commitment: commitmentToDecimal(commitment), deleteCommitment: commitmentToDecimal(commitment), data })
    await client.close()
    await assert.rejects(
      SessionClient.open({ host: owner, peer: peers[0]!, action: 'read', secret: 43n, commitment, prover }),
      (err: Error) => ['CommitmentMismatchError', 'ProofGenerationError', 'InvalidProofError'].includes(err.name)
    )
  })
})
