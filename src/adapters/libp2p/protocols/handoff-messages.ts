import { fileURLToPath } from 'node:url'
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import protobuf from 'protobufjs'
import { AesGcmEnvelope } from '../../../domain/crypto/aes-gcm-envelope.ts'
import type { Spake2Parties } from '../../../domain/crypto/spake2.ts'
import { protobufCodec, type MessageCodec } from '../wire/protobuf-codec.ts'

// The schema is protocol-spec/handoff.proto itself, so spec and code cannot drift.
const root = protobuf.loadSync(fileURLToPath(new URL('../../../../protocol-spec/handoff.proto', import.meta.url)))
const type = (name: string): protobuf.Type => root.lookupType(`quloud.handoff.v1.${name}`)

export const HANDOFF_PROTOCOL = '/quloud/handoff/1.0.0'

/** Every frame of the protocol; the largest, Capability, carries at most MAX_CAPABILITY_BYTES + 29. */
export const MAX_HANDOFF_FRAME_BYTES = 4096
/** A side that sends nothing for this long mid-exchange is dropped. */
export const HANDOFF_IDLE_TIMEOUT_MS = 10_000
/** A whole exchange (three frames each way at most) may not last longer than this. */
export const HANDOFF_DEADLINE_MS = 30_000
/** Exchanges one peer may start per minute on a sharer's node (a burst of as many). */
export const HANDOFF_ATTEMPTS_PER_MINUTE = 10

/** RefusalCode of handoff.proto: name -> number. */
export const REFUSAL_CODES: Readonly<Record<string, number>> = root.lookupEnum('quloud.handoff.v1.RefusalCode').values

export interface Refusal { code: number, message: string }
export type HandoffRequest =
  | { hello: { nameplate: number, share: Uint8Array } }
  | { confirm: { confirmation: Uint8Array } }
export type HandoffResponse =
  | { answer: { share: Uint8Array, confirmation: Uint8Array } }
  | { capability: { sealed: Uint8Array } }
  | { refusal: Refusal }

export const HandoffRequestCodec: MessageCodec<HandoffRequest> = protobufCodec(type('HandoffRequest'), 'body')
export const HandoffResponseCodec: MessageCodec<HandoffResponse> = protobufCodec(type('HandoffResponse'), 'body')

const text = (s: string): Uint8Array => new TextEncoder().encode(s)

/**
 * The SPAKE2 parties of an exchange: A is the receiver, B the sharer, each named by its
 * peer id's multihash bytes as the Noise connection authenticated it; the AAD binds the
 * protocol and the nameplate.
 */
export function handoffParties (receiver: Uint8Array, sharer: Uint8Array, nameplate: number): Spake2Parties {
  return { idA: receiver, idB: sharer, aad: text(`${HANDOFF_PROTOCOL} nameplate ${nameplate}`) }
}

const ENVELOPE_VERSION = 1

/** HKDF-SHA256(ikm Ke, salt nil, info "quloud/handoff/1 capability key", 32): the key the capability is sealed under. */
export function capabilityKey (ke: Uint8Array): Uint8Array {
  return hkdf(sha256, ke, undefined, text('quloud/handoff/1 capability key'), 32)
}

/** The AES-256-GCM envelope (version byte 1) under capabilityKey(Ke). */
export function capabilityEnvelope (ke: Uint8Array): AesGcmEnvelope {
  return new AesGcmEnvelope(capabilityKey(ke), ENVELOPE_VERSION)
}

/** AAD of the sealed capability: "quloud/handoff/1 capability " || nameplate in decimal. */
export function capabilityAad (nameplate: number): Uint8Array {
  return text(`quloud/handoff/1 capability ${nameplate}`)
}
