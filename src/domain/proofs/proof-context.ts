import { sha256 } from '@noble/hashes/sha2.js'
import { InvalidInputError } from '../../errors.ts'
import { lengthPrefixedConcat, u64 } from '../crypto/canonical-bytes.ts'

/**
 * The public `context` input of an ownership proof: one BN254 scalar that binds the
 * proof to a single use. Both sides compute it from values they already agree on:
 *
 * - `challenge`: the 32-byte single-use nonce the storage node issued;
 * - `storageNode`: the storage node's peer id as multihash bytes
 *   (`peerId.toMultihash().bytes`);
 * - `requester`: the requester's peer id bytes, as authenticated by Noise on the
 *   connection (the storage node takes them from the connection, never from a message);
 * - `action`: what the proof authorises, 'read' or 'delete';
 * - `expiresAt`: unix time in milliseconds after which the storage node refuses it.
 *
 * Changing any of them changes the context, so a proof cannot be replayed (new
 * challenge), relayed to or from another peer (peer ids), turned from read into delete,
 * or used late. The exact bytes are in protocol-spec/ownership-proof.md.
 */
export type ProofAction = 'read' | 'delete'

export interface ProofContextInput {
  challenge: Uint8Array
  storageNode: Uint8Array
  requester: Uint8Array
  action: ProofAction
  /** Unix milliseconds, a non-negative safe integer; encoded as u64. */
  expiresAt: number
}

export const PROOF_CONTEXT_DOMAIN_TAG = 'quloud/proof-context/v1'
export const CHALLENGE_BYTES = 32
/** Peer id multihashes are 34–38 bytes in practice; this bound only keeps input sane. */
export const MAX_PEER_ID_BYTES = 128
export const PROOF_ACTIONS: readonly ProofAction[] = ['read', 'delete']

// 2^253 - 1: the low 253 bits of the digest are always below r (r > 2^253), so the
// reduction is a mask, without the bias of `mod r`.
const MASK_253 = (1n << 253n) - 1n
const utf8 = new TextEncoder()

/** The canonical preimage: each field as u32 big-endian length, then its bytes. */
export function proofContextPreimage (input: ProofContextInput): Uint8Array {
  const { challenge, storageNode, requester, action, expiresAt } = input
  checkBytes(challenge, 'challenge', CHALLENGE_BYTES, CHALLENGE_BYTES)
  checkBytes(storageNode, 'storage node peer id', 1, MAX_PEER_ID_BYTES)
  checkBytes(requester, 'requester peer id', 1, MAX_PEER_ID_BYTES)
  if (!PROOF_ACTIONS.includes(action)) throw new InvalidInputError('action must be "read" or "delete"')
  if (!Number.isSafeInteger(expiresAt) || expiresAt < 0) {
    throw new InvalidInputError('expiresAt must be a non-negative integer number of unix milliseconds')
  }
  return lengthPrefixedConcat([utf8.encode(PROOF_CONTEXT_DOMAIN_TAG), challenge, storageNode, requester, utf8.encode(action), u64(expiresAt)])
}

/** context = SHA-256(preimage) read as a big-endian integer, low 253 bits. */
export function deriveProofContext (input: ProofContextInput): bigint {
  const digest = sha256(proofContextPreimage(input))
  let value = 0n
  for (const byte of digest) value = (value << 8n) | BigInt(byte)
  return value & MASK_253
}

function checkBytes (value: unknown, what: string, min: number, max: number): void {
  if (!(value instanceof Uint8Array)) throw new InvalidInputError(`${what} must be a Uint8Array`)
  if (value.byteLength < min || value.byteLength > max) {
    throw new InvalidInputError(min === max
      ? `${what} must be ${min} bytes, got ${value.byteLength}`
      : `${what} must be ${min}–${max} bytes, got ${value.byteLength}`)
  }
}
