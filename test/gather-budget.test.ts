import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { silentLoggerFactory } from '../src/adapters/logging/stderr-logger.ts'
import { gatherPieces } from '../src/app/owner/federation-pieces.ts'
import { PeerSessions } from '../src/app/owner/peer-sessions.ts'
import { ownerFileCapabilities } from '../src/domain/capabilities/file-capabilities.ts'
import { manifestSecret } from '../src/domain/crypto/key-derivation.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { newFileId } from '../src/domain/formats/file-id.ts'
import { sharedPieceCodec } from '../src/domain/formats/manifest.ts'
import { commitmentToDecimal, poseidonCommitment } from '../src/domain/proofs/poseidon-commitment.ts'
import { MemoryFederation } from './helpers/memory-federation.ts'

const log = silentLoggerFactory('test')

/**
 * Anyone who knows a read commitment (every share-code holder) can store under it. A
 * receiver gathering under that commitment keeps only what opens under its key, as it
 * arrives, and stops at a byte budget.
 */
describe('gathering pieces under a commitment others can store under', () => {
  const caps = ownerFileCapabilities(randomBytes(32), newFileId())
  const secret = manifestSecret(caps.read.readRoot)
  const commitment = commitmentToDecimal(poseidonCommitment(secret))
  const deleteCommitment = commitmentToDecimal(poseidonCommitment(99n))
  const codec = sharedPieceCodec(caps.read, caps.write)

  async function federationWith (junk: number, genuine: number): Promise<MemoryFederation> {
    const federation = new MemoryFederation()
    federation.addPeer('holder')
    const store = await federation.openStore('holder')
    for (let i = 0; i < junk; i++) {
      const data = randomBytes(64 * 1024)
      await store.store({ chunkId: chunkIdOf(data), commitment, deleteCommitment, data })
    }
    for (let i = 0; i < genuine; i++) {
      const [data] = codec.seal(randomBytes(64 * 1024), i + 1)
      await store.store({ chunkId: chunkIdOf(data!), commitment, deleteCommitment, data: data! })
    }
    return federation
  }

  it('drops 200 junk pieces as they arrive and keeps the one that opens', async () => {
    const federation = await federationWith(200, 1)
    federation.counts.reset()
    // each piece is judged before the next is fetched: a gather that fetched the listing
    // whole and filtered it after would hold all 200 junk pieces at once (920 MB measured)
    let judged = 0
    let mostAhead = 0
    const gathered = await PeerSessions.using(federation, undefined, async (sessions) =>
      gatherPieces(sessions, ['holder'], secret, log, {
        keep: (piece) => {
          mostAhead = Math.max(mostAhead, federation.counts.gets - judged++)
          return codec.opens(piece)
        }
      }))
    assert.equal(judged, 201)
    assert.equal(mostAhead, 1, 'each piece is judged before the next is fetched')
    assert.equal(gathered.pieces.length, 1)
    assert.ok(codec.opens(gathered.pieces[0]!))
    assert.equal(gathered.holders.get('holder')?.length, 201, 'the listing is still reported whole')
  })

  it('stops fetching at its byte budget, even when every piece opens', async () => {
    const federation = await federationWith(0, 40)
    federation.counts.reset()
    const gathered = await PeerSessions.using(federation, undefined, async (sessions) =>
      gatherPieces(sessions, ['holder'], secret, log, { keep: (piece) => codec.opens(piece), maxBytes: 10 * 64 * 1024 }))
    assert.equal(gathered.pieces.length, 10)
    assert.equal(federation.counts.gets, 10, 'nothing fetched past the budget')
  })
})
