import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { peerIdFromString } from '@libp2p/peer-id'
import {
  capabilityAad, capabilityEnvelope, capabilityKey, handoffParties, HandoffRequestCodec, HandoffResponseCodec
} from '../src/adapters/libp2p/protocols/handoff-messages.ts'
import { encodeFrame } from '../src/adapters/libp2p/wire/framed-stream.ts'
import { SPAKE2_SCRYPT, spake2PasswordScalar, spake2Start, spake2Transcript } from '../src/domain/crypto/spake2.ts'
import { parseShortCode, shortCodeScalar } from '../src/domain/formats/short-code.ts'

const v = JSON.parse(readFileSync(new URL('./vectors/spake2.json', import.meta.url), 'utf8')).handoff
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'))
const text = (s: string): Uint8Array => new TextEncoder().encode(s)
const frame = (f: { parts: readonly Uint8Array[] }): string => Buffer.concat(f.parts.map((p) => Buffer.from(p))).toString('hex')

describe('handoff vector (protocol-spec/handoff.md)', () => {
  const code = parseShortCode(v.code)
  const w = BigInt('0x' + v.w)
  const parties = handoffParties(peerIdFromString(v.receiverPeerId).toMultihash().bytes, peerIdFromString(v.sharerPeerId).toMultihash().bytes, code.nameplate)
  const a = spake2Start('A', w, BigInt('0x' + v.x))
  const b = spake2Start('B', w, BigInt('0x' + v.y))
  const t = spake2Transcript(a, b.share, parties)

  it('password step: w = scrypt(words joined by "-", "quloud/handoff/1 w " || nameplate) mod p', () => {
    assert.equal(code.nameplate, v.nameplate)
    assert.equal(code.words.join('-'), v.password)
    assert.deepEqual(v.scrypt, { ...SPAKE2_SCRYPT, dkLen: 40 })
    assert.equal(shortCodeScalar(code), w)
    assert.equal(spake2PasswordScalar(text(v.password), text(v.salt)), w)
  })

  it('identities are the peer ids\' multihash bytes; the AAD names protocol and nameplate', () => {
    assert.equal(hex(parties.idA), v.idA)
    assert.equal(hex(parties.idB), v.idB)
    assert.equal(new TextDecoder().decode(parties.aad), v.aad)
  })

  it('SPAKE2 values', () => {
    assert.equal(hex(a.share), v.pA)
    assert.equal(hex(b.share), v.pB)
    for (const [name, value] of [['K', t.k], ['TT', t.tt], ['Ke', t.ke], ['Ka', t.ka], ['KcA', t.kcA], ['KcB', t.kcB], ['confirmA', t.confirmA], ['confirmB', t.confirmB]] as const) {
      assert.equal(hex(value), v[name], name)
    }
  })

  it('the sealed capability opens under the key from Ke and the nameplate AAD, and nowhere else', () => {
    assert.equal(hex(capabilityKey(t.ke)), v.capabilityKey)
    assert.equal(new TextDecoder().decode(capabilityAad(code.nameplate)), v.capabilityAad)
    const fail = (reason: string): Error => new Error(reason)
    assert.equal(hex(capabilityEnvelope(t.ke).open(capabilityAad(code.nameplate), bytes(v.sealed), fail)), v.capability)
    assert.throws(() => capabilityEnvelope(t.ke).open(capabilityAad(code.nameplate + 1), bytes(v.sealed), fail))
    assert.throws(() => capabilityEnvelope(t.ka).open(capabilityAad(code.nameplate), bytes(v.sealed), fail))
  })

  it('frames, byte by byte', () => {
    assert.equal(frame(encodeFrame(HandoffRequestCodec, { hello: { nameplate: code.nameplate, share: a.share } })), v.frames.hello)
    assert.equal(frame(encodeFrame(HandoffResponseCodec, { answer: { share: b.share, confirmation: t.confirmB } })), v.frames.answer)
    assert.equal(frame(encodeFrame(HandoffRequestCodec, { confirm: { confirmation: t.confirmA } })), v.frames.confirm)
    assert.equal(frame(encodeFrame(HandoffResponseCodec, { capability: { sealed: bytes(v.sealed) } })), v.frames.capability)
    assert.equal(frame(encodeFrame(HandoffResponseCodec, { refusal: { code: 1, message: 'no live offer under nameplate 417' } })), v.frames.refusalNotFound)
    // and they decode back to the same messages
    const hello = HandoffRequestCodec.decode(bytes(v.frames.hello).subarray(1))
    assert.ok('hello' in hello && hello.hello.nameplate === code.nameplate && hex(hello.hello.share) === v.pA)
  })
})
