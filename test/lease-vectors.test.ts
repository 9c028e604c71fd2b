import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { SessionRequestCodec, SessionResponseCodec } from '../src/adapters/libp2p/wire/messages.ts'
import { isChunkId } from '../src/domain/formats/chunk-id.ts'

const vectors = JSON.parse(readFileSync(new URL('./vectors/leases.json', import.meta.url), 'utf8')) as {
  renew: { frame: string, chunkIds: string[] }
  renewed: { frame: string, expiresAtMs: number, missing: string[] }
}

describe('published vectors: renew and renewed (protocol-spec/leases.md)', () => {
  it('the ids are canonical chunk ids', () => {
    assert.ok(vectors.renew.chunkIds.every(isChunkId))
  })

  it('renew decodes to its ids and encodes to its bytes', () => {
    const decoded = SessionRequestCodec.decode(Buffer.from(vectors.renew.frame, 'hex'))
    assert.deepEqual(decoded, { renew: { chunkIds: vectors.renew.chunkIds } })
    assert.equal(Buffer.from(SessionRequestCodec.encode(decoded)).toString('hex'), vectors.renew.frame)
  })

  it('renewed decodes to its expiry and missing ids and encodes to its bytes', () => {
    const decoded = SessionResponseCodec.decode(Buffer.from(vectors.renewed.frame, 'hex'))
    assert.deepEqual(decoded, { renewed: { expiresAtMs: vectors.renewed.expiresAtMs, missing: vectors.renewed.missing } })
    assert.equal(Buffer.from(SessionResponseCodec.encode(decoded)).toString('hex'), vectors.renewed.frame)
  })
})
