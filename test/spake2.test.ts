import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { p256 } from '@noble/curves/nist.js'
import {
  confirmationMatches, InvalidPakeShareError, SPAKE2_M, SPAKE2_N, spake2Finish, spake2PasswordScalar, spake2Start, spake2Transcript
} from '../src/domain/crypto/spake2.ts'

interface Vector {
  A: string, B: string, w: string, x: string, y: string, pA: string, pB: string, K: string, TT: string
  hashTT: string, Ke: string, Ka: string, KcA: string, KcB: string, confirmA: string, confirmB: string
}
const { vectors } = JSON.parse(readFileSync(new URL('./vectors/spake2.json', import.meta.url), 'utf8')) as { vectors: Vector[] }
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'))
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s)
const scalar = (h: string): bigint => BigInt('0x' + h)

describe('SPAKE2-P256-SHA256-HKDF-HMAC (RFC 9382)', () => {
  it('has the four Appendix B vectors', () => {
    assert.equal(vectors.length, 4)
  })

  it('uses the RFC\'s M and N', () => {
    assert.equal(hex(SPAKE2_M.toBytes(true)), '02886e2f97ace46e55ba9dd7242579f2993b64e16ef3dcab95afd497333d8fa12f')
    assert.equal(hex(SPAKE2_N.toBytes(true)), '03d8bbd6c639c62937b04d997f38c3770719c629d7014d49a24b4f98baa1292b49')
  })

  for (const v of vectors) {
    it(`matches the vector A='${v.A}', B='${v.B}' on both sides`, () => {
      const parties = { idA: ascii(v.A), idB: ascii(v.B) }
      const a = spake2Start('A', scalar(v.w), scalar(v.x))
      const b = spake2Start('B', scalar(v.w), scalar(v.y))
      assert.equal(hex(a.share), v.pA)
      assert.equal(hex(b.share), v.pB)
      for (const t of [spake2Transcript(a, b.share, parties), spake2Transcript(b, a.share, parties)]) {
        assert.equal(hex(t.k), v.K)
        assert.equal(hex(t.tt), v.TT)
        assert.equal(hex(t.ke), v.Ke)
        assert.equal(hex(t.ka), v.Ka)
        assert.equal(hex(t.kcA), v.KcA)
        assert.equal(hex(t.kcB), v.KcB)
        assert.equal(hex(t.confirmA), v.confirmA)
        assert.equal(hex(t.confirmB), v.confirmB)
      }
      const keysA = spake2Finish(a, b.share, parties)
      const keysB = spake2Finish(b, a.share, parties)
      assert.ok(confirmationMatches(keysB.peerConfirmation, keysA.ownConfirmation))
      assert.ok(confirmationMatches(keysA.peerConfirmation, keysB.ownConfirmation))
    })
  }

  it('a wrong password gives other keys, and each side\'s confirmation check fails', () => {
    const parties = { idA: ascii('receiver'), idB: ascii('sharer') }
    const salt = ascii('test salt')
    const a = spake2Start('A', spake2PasswordScalar(ascii('orbit-nectar-velvet'), salt))
    const b = spake2Start('B', spake2PasswordScalar(ascii('orbit-nectar-velvem'), salt))
    const keysA = spake2Finish(a, b.share, parties)
    const keysB = spake2Finish(b, a.share, parties)
    assert.notEqual(hex(keysA.ke), hex(keysB.ke))
    assert.ok(!confirmationMatches(keysA.peerConfirmation, keysB.ownConfirmation), 'A rejects B')
    assert.ok(!confirmationMatches(keysB.peerConfirmation, keysA.ownConfirmation), 'B rejects A')
  })

  it('the same password with fresh scalars agrees, and binds identities and AAD', () => {
    const w = spake2PasswordScalar(ascii('orbit-nectar-velvet'), ascii('salt'))
    const a = spake2Start('A', w)
    const b = spake2Start('B', w)
    const parties = { idA: ascii('receiver'), idB: ascii('sharer'), aad: ascii('ctx') }
    const keysA = spake2Finish(a, b.share, parties)
    const keysB = spake2Finish(b, a.share, parties)
    assert.equal(hex(keysA.ke), hex(keysB.ke))
    assert.ok(confirmationMatches(keysA.peerConfirmation, keysB.ownConfirmation))
    // a relay that tells B another initiator's identity, or another context, breaks confirmation
    const relayed = spake2Finish(b, a.share, { ...parties, idA: ascii('mallory') })
    assert.ok(!confirmationMatches(keysA.peerConfirmation, relayed.ownConfirmation))
    const otherAad = spake2Finish(b, a.share, { ...parties, aad: ascii('other') })
    assert.ok(!confirmationMatches(keysA.peerConfirmation, otherAad.ownConfirmation))
  })

  it('the password step depends on the salt and is reduced mod p', () => {
    const w1 = spake2PasswordScalar(ascii('orbit-nectar-velvet'), ascii('nameplate 1'))
    const w2 = spake2PasswordScalar(ascii('orbit-nectar-velvet'), ascii('nameplate 2'))
    assert.notEqual(w1, w2)
    assert.ok(w1 > 0n && w1 < p256.Point.Fn.ORDER)
  })

  it('refuses shares that are not points, the identity, compressed, or that cancel the blinding', () => {
    const w = 12345n
    const b = spake2Start('B', w)
    const parties = { idA: ascii('a'), idB: ascii('b') }
    const offCurve = Uint8Array.from(b.share)
    offCurve[64] = offCurve[64]! ^ 1
    const bad = [
      new Uint8Array(0),
      new Uint8Array([0]),
      new Uint8Array(65), // no 0x04 prefix
      offCurve,
      p256.Point.BASE.toBytes(true), // compressed form is not this suite's encoding
      Uint8Array.from([0x04, ...new Uint8Array(64)])
    ]
    for (const share of bad) assert.throws(() => spake2Transcript(b, share, parties), InvalidPakeShareError)
    // pA = w*M makes pA - w*M the identity: refused instead of yielding K = identity
    const cancelling = SPAKE2_M.multiply(w).toBytes(false)
    assert.throws(() => spake2Transcript(b, cancelling, parties), InvalidPakeShareError)
  })

  it('confirmationMatches refuses other lengths', () => {
    assert.ok(!confirmationMatches(new Uint8Array(32), new Uint8Array(31)))
    assert.ok(confirmationMatches(new Uint8Array(32), new Uint8Array(32)))
  })
})
