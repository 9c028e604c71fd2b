import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import type { Libp2p } from '@libp2p/interface'
import { StoreClient } from '../src/adapters/libp2p/protocols/store-client.ts'
import { STORE_PROTOCOL, V1_PROTOCOLS } from '../src/adapters/libp2p/wire/constants.ts'
import { loadProofArtefacts } from '../src/adapters/proof/artefacts.ts'
import { SnarkjsVerifier } from '../src/adapters/proof/snarkjs-verifier.ts'
import { fileRoot, readRoot, retrievalSecret } from '../src/domain/crypto/key-derivation.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { commitmentToDecimal, poseidonCommitment } from '../src/domain/proofs/poseidon-commitment.ts'
import { introduce, startClientHost, startStorageNode, type TestStorageNode } from './helpers/storage-node.ts'
import { tempDir } from './helpers/temp-dir.ts'
import { waitFor } from './helpers/wait-for.ts'

describe('request metrics: each served stream reports how it ended', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  let verifier: SnarkjsVerifier
  let node: TestStorageNode
  let client: Libp2p
  const served: Array<[string, string]> = []
  const refused: Array<[string, string]> = []

  before(async () => {
    dir = await tempDir()
    verifier = await SnarkjsVerifier.create({ verificationKey: (await loadProofArtefacts()).verificationKey })
    node = await startStorageNode({ dir: dir.path, verifier, limits: {
      onServed: (protocol, outcome) => { served.push([protocol, outcome]) },
      onRefused: (protocol, code) => { refused.push([protocol, code]) }
    } })
    client = await startClientHost()
    await introduce(client, node)
  })
  after(async () => {
    await client?.stop()
    await node?.stop()
    await verifier?.close()
    await dir?.cleanup()
  })

  it('an honest store stream ends ok', async () => {
    const data = randomBytes(2000)
    const commitment = commitmentToDecimal(poseidonCommitment(retrievalSecret(readRoot(fileRoot(randomBytes(32), randomBytes(16))))))
    const store = await StoreClient.open(client, node.host.peerId)
    await store.store({ chunkId: chunkIdOf(data), data, commitment, deleteCommitment: commitment })
    await store.close()
    await waitFor(() => served.some(([p, o]) => p === STORE_PROTOCOL && o === 'ok'), { what: 'the ok outcome' })
  })

  it('attack: a garbage frame and a retired protocol id are counted by their refusal codes', async () => {
    const before = served.length
    const garbage = await client.dialProtocol(node.host.peerId, STORE_PROTOCOL)
    garbage.send(Uint8Array.from([5, 0xff, 0xff, 0xff, 0xff, 0xff]))
    await garbage.close().catch(() => {})
    const old = await client.dialProtocol(node.host.peerId, V1_PROTOCOLS.store)
    await old.close().catch(() => {})
    await waitFor(() => served.length >= before + 2, { what: 'both outcomes' })
    const outcomes = new Map(served.slice(before))
    assert.equal(outcomes.get(STORE_PROTOCOL), 'malformed', JSON.stringify(served))
    assert.equal(outcomes.get(V1_PROTOCOLS.store), 'unsupported-version', JSON.stringify(served))
  })

  it('a refusal answered inside a stream that goes on is counted by its code, and the stream still ends ok', async () => {
    const data = randomBytes(3000)
    const commitment = commitmentToDecimal(poseidonCommitment(retrievalSecret(readRoot(fileRoot(randomBytes(32), randomBytes(16))))))
    const store = await StoreClient.open(client, node.host.peerId)
    // a chunk id that is not the bytes' own: refused, and the stream goes on
    await assert.rejects(store.store({ chunkId: chunkIdOf(randomBytes(3000)), data, commitment, deleteCommitment: commitment }))
    await store.store({ chunkId: chunkIdOf(data), data, commitment, deleteCommitment: commitment })
    const before = served.length
    await store.close()
    assert.equal(refused.length, 1, JSON.stringify(refused))
    assert.equal(refused[0]![0], STORE_PROTOCOL)
    assert.match(refused[0]![1], /^[a-z-]+$/)
    await waitFor(() => served.length > before, { what: 'the stream\'s end' })
    assert.deepEqual(served.at(-1), [STORE_PROTOCOL, 'ok'])
  })
})
