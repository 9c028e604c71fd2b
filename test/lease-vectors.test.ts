import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import protobuf from 'protobufjs'
import { SessionRequestCodec, SessionResponseCodec, StoreRequestCodec } from '../src/adapters/libp2p/wire/messages.ts'
import { encodeStoreRequest } from '../src/adapters/libp2p/protocols/store-client.ts'
import { chunkIdOf, isChunkId } from '../src/domain/formats/chunk-id.ts'
import { commitmentToDecimal, poseidonCommitment } from '../src/domain/proofs/poseidon-commitment.ts'

const vectors = JSON.parse(readFileSync(new URL('./vectors/leases.json', import.meta.url), 'utf8')) as {
  renew: { frame: string, chunkIds: string[] }
  renewed: { frame: string, expiresAtMs: number, missing: string[] }
  leasedStore: { frame: string, chunkId: string, commitment: string, deleteCommitment: string, leaseCommitment: string, dataUtf8: string }
  leasingRenew: { frame: string, chunkIds: string[], leaseCommitment: string }
  leasedRenewed: { frame: string, expiresAtMs: number, missing: string[], leaseCommitments: boolean }
}

/** The messages as nodes from before lease commitments decode them (quloud.proto before fields 5, 2 and 3 came). */
const before = protobuf.parse(`syntax = "proto3";
message StoreRequest { string chunk_id = 1; string commitment = 2; bytes data = 3; string delete_commitment = 4; }
message RenewRequest { repeated string chunk_ids = 1; }
message Renewed { uint64 expires_at_ms = 1; repeated string missing = 2; }`).root
const asBefore = (name: string, hex: string): Record<string, unknown> =>
  before.lookupType(name).toObject(before.lookupType(name).decode(Buffer.from(hex, 'hex')), { longs: Number, defaults: true })

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

  it('a store with a lease commitment: its values, its bytes, the same from the zero-copy framing, and what a node before lease commitments reads of it', () => {
    const v = vectors.leasedStore
    const data = new TextEncoder().encode(v.dataUtf8)
    assert.equal(v.chunkId, chunkIdOf(data))
    assert.equal(v.commitment, commitmentToDecimal(poseidonCommitment(1n)))
    assert.equal(v.deleteCommitment, commitmentToDecimal(poseidonCommitment(2n)))
    assert.equal(v.leaseCommitment, commitmentToDecimal(poseidonCommitment(3n)))
    const request = { chunkId: v.chunkId, commitment: v.commitment, deleteCommitment: v.deleteCommitment, leaseCommitment: v.leaseCommitment, data }
    assert.equal(Buffer.from(StoreRequestCodec.encode(request)).toString('hex'), v.frame)
    // the framing a put uses: length prefix first, then the very same bytes
    assert.equal(Buffer.concat(encodeStoreRequest(request).frame.parts.slice(1)).toString('hex'), v.frame)
    const decoded = StoreRequestCodec.decode(Buffer.from(v.frame, 'hex'))
    assert.equal(decoded.leaseCommitment, v.leaseCommitment)
    // an older node skips the unknown field and stores the record as before, without L
    const old = asBefore('StoreRequest', v.frame)
    assert.deepEqual({ ...old, data: Buffer.from(old.data as Uint8Array).toString('utf8') }, { chunkId: v.chunkId, commitment: v.commitment, deleteCommitment: v.deleteCommitment, data: v.dataUtf8 })
  })

  it('a renewal that sets L, and the answer of a node that keeps lease commitments; an older node reads a plain renew and is read as keeping none', () => {
    const renew = SessionRequestCodec.decode(Buffer.from(vectors.leasingRenew.frame, 'hex'))
    assert.deepEqual(renew, { renew: { chunkIds: vectors.leasingRenew.chunkIds, leaseCommitment: vectors.leasingRenew.leaseCommitment } })
    assert.equal(Buffer.from(SessionRequestCodec.encode(renew)).toString('hex'), vectors.leasingRenew.frame)
    // the renew's body (after the SessionRequest tag and length) as an older node decodes it
    assert.deepEqual(asBefore('RenewRequest', vectors.leasingRenew.frame.slice(6)), { chunkIds: vectors.leasingRenew.chunkIds })
    const renewed = SessionResponseCodec.decode(Buffer.from(vectors.leasedRenewed.frame, 'hex'))
    assert.deepEqual(renewed, { renewed: { expiresAtMs: vectors.leasedRenewed.expiresAtMs, missing: [], leaseCommitments: true } })
    assert.equal(Buffer.from(SessionResponseCodec.encode(renewed)).toString('hex'), vectors.leasedRenewed.frame)
    // the older answer carries no field 3: lease commitments absent, which the client reads as none
    assert.equal('leaseCommitments' in (SessionResponseCodec.decode(Buffer.from(vectors.renewed.frame, 'hex')) as { renewed: object }).renewed, false)
  })
})
