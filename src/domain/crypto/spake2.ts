import { randomBytes } from 'node:crypto'
import { p256 } from '@noble/curves/nist.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { hmac } from '@noble/hashes/hmac.js'
import { scrypt } from '@noble/hashes/scrypt.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { concatBytes as concat, utf8ToBytes } from '@noble/hashes/utils.js'
import { bytesToNumberBE, numberToBytesBE } from '@noble/curves/utils.js'
import { defineError, InvalidInputError } from '../../errors.ts'

/**
 * SPAKE2 as RFC 9382 (draft-irtf-cfrg-spake2-26) defines it, ciphersuite
 * SPAKE2-P256-SHA256-HKDF-HMAC: group P-256 (cofactor h = 1), Hash SHA-256,
 * KDF HKDF-SHA256, MAC HMAC-SHA256, points in uncompressed SEC1 form.
 *
 *   A: x <- [1, p), pA = x*P + w*M          B: y <- [1, p), pB = y*P + w*N
 *   A: K = x*(pB - w*N)                     B: K = y*(pA - w*M)
 *   TT = len(A)||A || len(B)||B || len(pA)||pA || len(pB)||pB || len(K)||K || len(w)||w
 *   Ke || Ka = SHA-256(TT);  KcA || KcB = HKDF(ikm Ka, salt nil, "ConfirmationKeys" || AAD, 32)
 *   cA = HMAC(KcA, TT);  cB = HMAC(KcB, TT)
 *
 * len() is an 8-byte little-endian length and w is 32 big-endian bytes (RFC 9382 §3.3).
 * x and y come from [1, p) rather than [0, p): zero would make pA = w*M, which gives the
 * password's blinding away; the bias of leaving out one value in 2^256 is nil.
 * test/spake2.test.ts checks this file against the RFC's Appendix B vectors.
 */

const Point = p256.Point
type Point = InstanceType<typeof Point>
const ORDER = Point.Fn.ORDER

/** RFC 9382 §6, the P-256 points (seeds "1.2.840.10045.3.1.7 point generation seed (M)" / "(N)"). */
export const SPAKE2_M = Point.fromHex('02886e2f97ace46e55ba9dd7242579f2993b64e16ef3dcab95afd497333d8fa12f')
export const SPAKE2_N = Point.fromHex('03d8bbd6c639c62937b04d997f38c3770719c629d7014d49a24b4f98baa1292b49')

/** Uncompressed SEC1 point: 0x04 || X || Y. */
export const SPAKE2_SHARE_BYTES = 65
/** An HMAC-SHA256 confirmation. */
export const SPAKE2_CONFIRMATION_BYTES = 32

/** A share received from the peer is not a point of P-256 other than the identity. */
export const InvalidPakeShareError = defineError('InvalidPakeShareError', 'invalid-pake-share')
export type InvalidPakeShareError = InstanceType<typeof InvalidPakeShareError>

export type Spake2Role = 'A' | 'B'

/** One side's ephemeral state: its secret scalar and the share it sends. */
export interface Spake2Start {
  role: Spake2Role
  w: bigint
  scalar: bigint
  share: Uint8Array
}

/** What both sides derive once they have both shares. */
export interface Spake2Keys {
  /** The shared secret the protocol outputs (16 bytes). */
  ke: Uint8Array
  /** The confirmation this side sends. */
  ownConfirmation: Uint8Array
  /** The confirmation this side must receive before it trusts `ke`. */
  peerConfirmation: Uint8Array
}

/** The values of one RFC 9382 run, for the vectors. */
export interface Spake2Transcript {
  k: Uint8Array
  tt: Uint8Array
  ke: Uint8Array
  ka: Uint8Array
  kcA: Uint8Array
  kcB: Uint8Array
  confirmA: Uint8Array
  confirmB: Uint8Array
}

export interface Spake2Parties {
  /** Identity of A (the initiator). */
  idA: Uint8Array
  /** Identity of B (the responder). */
  idB: Uint8Array
  /** Additional authenticated data both sides agree on; empty is nil. */
  aad?: Uint8Array
}

/** Scrypt cost of the password step: 32 MiB and ~130 ms on this project's machines (N = 2^15, r = 8, p = 1). */
export const SPAKE2_SCRYPT = { N: 2 ** 15, r: 8, p: 1 } as const
/** 64 bits more than the 256 of the group order, so that w mod p is unbiased (RFC 9382 §3.2). */
const W_HASH_BYTES = 40

/**
 * w = scrypt(password, salt) mod p, the password step RFC 9382 §3.2 recommends: a
 * memory-hard function with output 64 bits longer than p. Zero (one chance in 2^256)
 * is refused rather than turned into a share that ignores the password.
 */
export function spake2PasswordScalar (password: Uint8Array, salt: Uint8Array): bigint {
  const hash = scrypt(password, salt, { ...SPAKE2_SCRYPT, dkLen: W_HASH_BYTES })
  const w = bytesToNumberBE(hash) % ORDER
  if (w === 0n) throw new InvalidInputError('the password hashes to zero; choose another')
  return w
}

/**
 * This side's share. `scalar` is for the vectors only; without it a fresh uniform
 * scalar is drawn (a scalar must never be used twice: RFC 9382 §7).
 */
export function spake2Start (role: Spake2Role, w: bigint, scalar: bigint = randomScalar()): Spake2Start {
  checkScalar(w, 'w')
  checkScalar(scalar, 'the ephemeral scalar')
  const blind = role === 'A' ? SPAKE2_M : SPAKE2_N
  const share = Point.BASE.multiply(scalar).add(blind.multiply(w)).toBytes(false)
  return { role, w, scalar, share }
}

/**
 * The full RFC 9382 computation from this side's start and the peer's share. Throws
 * InvalidPakeShareError for a share that is not a valid point other than the
 * identity, and for a K equal to the identity (a share built as w*N or w*M).
 */
export function spake2Transcript (start: Spake2Start, peerShare: Uint8Array, parties: Spake2Parties): Spake2Transcript {
  const peer = decodeShare(peerShare)
  const unblind = start.role === 'A' ? SPAKE2_N : SPAKE2_M
  const kPoint = peer.subtract(unblind.multiply(start.w))
  if (kPoint.is0()) throw new InvalidPakeShareError('the peer share cancels the password blinding (K is the identity)')
  const k = kPoint.multiply(start.scalar).toBytes(false)
  const [pA, pB] = start.role === 'A' ? [start.share, peerShare] : [peerShare, start.share]
  const tt = concat(
    lengthPrefixed(parties.idA), lengthPrefixed(parties.idB),
    lengthPrefixed(pA), lengthPrefixed(pB), lengthPrefixed(k),
    lengthPrefixed(numberToBytesBE(start.w, 32))
  )
  const digest = sha256(tt)
  const ke = digest.slice(0, 16)
  const ka = digest.slice(16)
  const confirmationKeys = hkdf(sha256, ka, undefined, concat(utf8ToBytes('ConfirmationKeys'), parties.aad ?? new Uint8Array(0)), 32)
  const kcA = confirmationKeys.slice(0, 16)
  const kcB = confirmationKeys.slice(16)
  return { k, tt, ke, ka, kcA, kcB, confirmA: hmac(sha256, kcA, tt), confirmB: hmac(sha256, kcB, tt) }
}

/** The shared key and both confirmations, oriented for this side. */
export function spake2Finish (start: Spake2Start, peerShare: Uint8Array, parties: Spake2Parties): Spake2Keys {
  const t = spake2Transcript(start, peerShare, parties)
  return start.role === 'A'
    ? { ke: t.ke, ownConfirmation: t.confirmA, peerConfirmation: t.confirmB }
    : { ke: t.ke, ownConfirmation: t.confirmB, peerConfirmation: t.confirmA }
}

/** Constant-time equality of a received confirmation and the expected one. */
export function confirmationMatches (expected: Uint8Array, received: Uint8Array): boolean {
  if (!(received instanceof Uint8Array) || received.byteLength !== expected.byteLength) return false
  let diff = 0
  for (let i = 0; i < expected.byteLength; i++) diff |= expected[i]! ^ received[i]!
  return diff === 0
}

/** Throws InvalidPakeShareError unless `bytes` is a share this suite accepts (before any work is spent on it). */
export function checkSpake2Share (bytes: Uint8Array): void {
  decodeShare(bytes)
}

function decodeShare (bytes: Uint8Array): Point {
  // uncompressed only: the suite fixes one encoding, so a share has exactly one form
  if (!(bytes instanceof Uint8Array) || bytes.byteLength !== SPAKE2_SHARE_BYTES || bytes[0] !== 0x04) {
    throw new InvalidPakeShareError(`a share is a ${SPAKE2_SHARE_BYTES}-byte uncompressed P-256 point`)
  }
  let point: Point
  try {
    point = Point.fromBytes(bytes)
    point.assertValidity()
  } catch (err) {
    throw new InvalidPakeShareError('the share is not a point of P-256', { cause: err })
  }
  if (point.is0()) throw new InvalidPakeShareError('the share is the identity')
  return point
}

function randomScalar (): bigint {
  // rejection sampling, as RFC 9382 §7 recommends: uniform over [1, p)
  for (;;) {
    const candidate = bytesToNumberBE(randomBytes(32))
    if (candidate > 0n && candidate < ORDER) return candidate
  }
}

function checkScalar (value: bigint, what: string): void {
  if (typeof value !== 'bigint' || value <= 0n || value >= ORDER) throw new InvalidInputError(`${what} must be in [1, p)`)
}

function lengthPrefixed (bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + bytes.byteLength)
  new DataView(out.buffer).setBigUint64(0, BigInt(bytes.byteLength), true)
  out.set(bytes, 8)
  return out
}
