import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { Libp2p } from '@libp2p/interface'
import { loadProofArtefacts } from '../src/adapters/proof/artefacts.ts'
import { SnarkjsProver } from '../src/adapters/proof/snarkjs-prover.ts'
import { SnarkjsVerifier } from '../src/adapters/proof/snarkjs-verifier.ts'
import { SessionClient } from '../src/adapters/libp2p/protocols/session-client.ts'
import { MAX_AUDIT_LEAVES } from '../src/adapters/libp2p/protocols/session-audit.ts'
import { StoreClient } from '../src/adapters/libp2p/protocols/store-client.ts'
import { MAX_DATA_FRAME_BYTES, RETRIEVE_PROTOCOL } from '../src/adapters/libp2p/wire/constants.ts'
import { FramedStream } from '../src/adapters/libp2p/wire/framed-stream.ts'
import { SessionRequestCodec, SessionResponseCodec } from '../src/adapters/libp2p/wire/messages.ts'
import { leafCount, merkleRoot, verifyInclusion } from '../src/domain/crypto/merkle-tree.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { commitmentToDecimal, poseidonCommitment } from '../src/domain/proofs/poseidon-commitment.ts'
import { fileRoot, readRoot, retrievalSecret } from '../src/domain/crypto/key-derivation.ts'
import { MalformedMessageError } from '../src/domain/protocol/federation-errors.ts'
import { NotFoundError } from '../src/errors.ts'
import { introduce, NO_PROOF_COOLDOWN, startClientHost, startStorageNode, type TestStorageNode } from './helpers/storage-node.ts'
import { rejectsWith } from './helpers/rejects-with.ts'
import { tempDir } from './helpers/temp-dir.ts'

const UNAUTHORIZED = 2

describe('retrieve: audits of held chunks by Merkle leaves', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  let prover: SnarkjsProver
  let verifier: SnarkjsVerifier
  let node: TestStorageNode
  let owner: Libp2p
  const secret = retrievalSecret(readRoot(fileRoot(randomBytes(32), randomBytes(16))))
  const commitment = poseidonCommitment(secret)
  const data = randomBytes(1024 * 1024 + 29)
  const chunkId = chunkIdOf(data)
  let session: SessionClient

  before(async () => {
    dir = await tempDir()
    const artefacts = await loadProofArtefacts()
    prover = await SnarkjsProver.create({ artefacts })
    verifier = await SnarkjsVerifier.create({ verificationKey: artefacts.verificationKey })
    node = await startStorageNode({ dir: join(dir.path, 'n'), verifier, proofAdmission: NO_PROOF_COOLDOWN })
    owner = await startClientHost()
    await introduce(owner, node)
    const store = await StoreClient.open(owner, node.host.peerId)
    await store.store({ chunkId, data, commitment: commitmentToDecimal(commitment), deleteCommitment: commitmentToDecimal(commitment) })
    await store.close()
    session = await SessionClient.open({ host: owner, peer: node.host.peerId, action: 'read', secret, commitment, prover })
  })

  after(async () => {
    await session?.close()
    await node?.stop()
    await owner?.stop()
    await prover?.close()
    await verifier?.close()
    await dir?.cleanup()
  })

  it('answers the leaves asked, in order, each verifying against the root of the bytes it holds', async () => {
    const root = merkleRoot(data)
    const asked = [256, 0, 7, 128]
    const proof = await session.audit(chunkId, asked)
    assert.equal(proof.leafCount, leafCount(data.byteLength))
    assert.deepEqual(proof.leaves.map((l) => l.index), asked)
    for (const leaf of proof.leaves) assert.ok(verifyInclusion(root, proof.leafCount, leaf.index, leaf.data, leaf.path))
    assert.equal(proof.leaves[0]!.data.byteLength, 29, 'the last leaf is short')
  })

  it('refuses an unknown chunk NOT_FOUND, and a leaf beyond the chunk, too many or repeated leaves MALFORMED; the session goes on', async () => {
    await rejectsWith(session.audit(chunkIdOf(randomBytes(10)), [0]), NotFoundError)
    await rejectsWith(session.audit(chunkId, [leafCount(data.byteLength)]), MalformedMessageError)
    await rejectsWith(session.audit(chunkId, Array.from({ length: MAX_AUDIT_LEAVES + 1 }, (_, i) => i)), MalformedMessageError)
    await rejectsWith(session.audit(chunkId, [3, 3]), MalformedMessageError)
    await rejectsWith(session.audit(chunkId, []), MalformedMessageError)
    assert.equal((await session.audit(chunkId, [1])).leaves.length, 1)
    assert.deepEqual(Buffer.from(await session.get(chunkId)), data)
  })

  it('an audit before the proof is refused UNAUTHORIZED and the stream closes', async () => {
    const stream = await owner.dialProtocol(node.host.peerId, RETRIEVE_PROTOCOL)
    const framed = new FramedStream(stream, { maxFrameBytes: MAX_DATA_FRAME_BYTES, idleTimeoutMs: 10_000 })
    try {
      // a fresh stream on the proven connection would be ready at once: a new commitment is not
      const other = commitmentToDecimal(poseidonCommitment(secret + 1n))
      await framed.write(SessionRequestCodec, { hello: { commitment: other } })
      const challenge = await framed.read(SessionResponseCodec)
      assert.ok(challenge !== undefined && 'challenge' in challenge)
      await framed.write(SessionRequestCodec, { audit: { chunkId, leaves: [0] } })
      const answer = await framed.read(SessionResponseCodec)
      assert.ok(answer !== undefined && 'error' in answer && answer.error.code === UNAUTHORIZED, JSON.stringify(answer))
      assert.equal(await framed.read(SessionResponseCodec), undefined, 'closed after the refusal')
    } finally {
      framed.abort(new Error('done'))
    }
  })
})
