import { defineError } from '../../errors.ts'
import { parseMultiaddrText } from './multiaddr-text.ts'
import { checkFederationName } from './federation.ts'
import { isProofSystemId } from '../proofs/proof-system.ts'
import { isSiteName, MAX_SITE_LENGTH } from './site.ts'

/**
 * What a node tells its federation about itself, signed with its libp2p identity key.
 * protocol-spec/announce.md is the normative description; this file implements it.
 */
export interface Announcement {
  /** Federation name; binds the signature to one federation. */
  federation: string
  /** The announcing node's peer id (base58btc); the signer. */
  peerId: string
  /** Multiaddrs where the node can be dialled; a trailing /p2p/ must be peerId. */
  addresses: string[]
  /** Bytes the node offers to the federation. */
  capacity: number
  /** Bytes of that offer still free; at most capacity. */
  free: number
  /** Proof-system id (verification-key hash); must equal the receiver's. */
  proofSystem: string
  /** Implementation and version, e.g. `quloud/0.1.0`. */
  software: string
  /** Federation protocols the node speaks, with versions. */
  protocols: string[]
  /** Seconds since the node started. */
  uptime: number
  /** Milliseconds since the epoch when the announcement was made. */
  timestamp: number
  /**
   * Version 2 only: the site its operator declares (site.ts), absent when none. A
   * version 1 announcement has no such member, and says nothing about a site.
   */
  site?: string
}

/** 1: the original message, on `/quloud/F/announce/1`; 2: the same with an optional site, on `/quloud/F/announce/2`. */
export type AnnouncementVersion = 1 | 2

export interface SignedAnnouncement {
  announcement: Announcement
  /** Signature by peerId's key over `signedBytes(announcement, version)`. */
  signature: Uint8Array
  /** Absent: 1. */
  version?: AnnouncementVersion
}

/** An announcement that does not follow the schema. */
export const InvalidAnnouncementError = defineError('InvalidAnnouncementError', 'invalid-announcement')
export type InvalidAnnouncementError = InstanceType<typeof InvalidAnnouncementError>

export const ANNOUNCEMENT_LIMITS = {
  /** Encoded message (envelope) size. */
  maxBytes: 8192,
  maxAddresses: 16,
  maxAddressLength: 256,
  maxProtocols: 32,
  maxProtocolLength: 128,
  maxSoftwareLength: 64,
  maxPeerIdLength: 128
} as const

/** Prefix of the signed bytes, so the signature means nothing in another context (or in the other version). */
export const SIGNATURE_DOMAIN = 'quloud-announce/1\n'
export const SIGNATURE_DOMAIN_V2 = 'quloud-announce/2\n'

/** Field order of the canonical encoding; it is also the complete list of version 1's fields. */
const FIELDS = ['federation', 'peerId', 'addresses', 'capacity', 'free', 'proofSystem', 'software', 'protocols', 'uptime', 'timestamp'] as const
/** Version 2: the same, then `site` when the node declares one. */
const FIELDS_V2 = [...FIELDS, 'site'] as const
const ENVELOPE_FIELDS = ['v', 'announcement', 'signature']
// printable ASCII without '"' and '\': JSON encodes these strings byte for byte
const TEXT = /^[\x21\x23-\x5b\x5d-\x7e]+$/
const PEER_ID = /^[1-9A-HJ-NP-Za-km-z]{1,128}$/
const BASE64URL = /^[A-Za-z0-9_-]{1,1024}$/

/** Is this a plausible base58btc peer id string (syntax only)? */
export function isPeerIdString (value: unknown): value is string {
  return typeof value === 'string' && PEER_ID.test(value)
}

/** Throws InvalidAnnouncementError unless `value` is an Announcement of `version` with nothing extra. */
export function checkAnnouncement (value: unknown, version: AnnouncementVersion = 1): Announcement {
  const a = object(value, 'announcement')
  if (version === 1) exactKeys(a, FIELDS, 'announcement')
  else {
    exactKeys(a, FIELDS_V2, 'announcement', ['site'])
    if (a.site !== undefined && !isSiteName(a.site)) throw new InvalidAnnouncementError(`site must be 1-${MAX_SITE_LENGTH} characters of a-z, 0-9, ".", "_" and "-"`)
  }
  try {
    checkFederationName(a.federation)
  } catch (err) {
    throw new InvalidAnnouncementError(`federation: ${(err as Error).message}`)
  }
  if (!isPeerIdString(a.peerId)) throw new InvalidAnnouncementError('peerId is not a base58btc peer id')
  const addresses = list(a.addresses, 'addresses', ANNOUNCEMENT_LIMITS.maxAddresses, ANNOUNCEMENT_LIMITS.maxAddressLength)
  for (const addr of addresses) checkAddress(addr, a.peerId)
  const capacity = count(a.capacity, 'capacity')
  const free = count(a.free, 'free')
  if (free > capacity) throw new InvalidAnnouncementError('free exceeds capacity')
  if (!isProofSystemId(a.proofSystem)) throw new InvalidAnnouncementError('proofSystem must be 1-128 printable ASCII characters')
  text(a.software, 'software', ANNOUNCEMENT_LIMITS.maxSoftwareLength)
  list(a.protocols, 'protocols', ANNOUNCEMENT_LIMITS.maxProtocols, ANNOUNCEMENT_LIMITS.maxProtocolLength)
  count(a.uptime, 'uptime')
  count(a.timestamp, 'timestamp')
  return a as unknown as Announcement
}

/**
 * The bytes a node signs: SIGNATURE_DOMAIN followed by the canonical JSON of the
 * announcement (fields in schema order, no whitespace). Every string is printable ASCII
 * without quote or backslash, so the encoding has exactly one form.
 */
export function signedBytes (announcement: Announcement, version: AnnouncementVersion = 1): Uint8Array {
  return new TextEncoder().encode((version === 1 ? SIGNATURE_DOMAIN : SIGNATURE_DOMAIN_V2) + canonicalJson(announcement, version))
}

/** The gossip message: `{"v":1,"announcement":{…},"signature":"<base64url>"}` (or `"v":2`). */
export function encodeSignedAnnouncement (signed: SignedAnnouncement): Uint8Array {
  const version = signed.version ?? 1
  const json = `{"v":${version},"announcement":${canonicalJson(checkAnnouncement(signed.announcement, version), version)},"signature":"${Buffer.from(signed.signature).toString('base64url')}"}`
  const bytes = new TextEncoder().encode(json)
  if (bytes.byteLength > ANNOUNCEMENT_LIMITS.maxBytes) throw new InvalidAnnouncementError(`announcement is ${bytes.byteLength} bytes, over ${ANNOUNCEMENT_LIMITS.maxBytes}`)
  return bytes
}

/**
 * Parses and checks a gossip message of `version` (the version its topic carries: any
 * other is invalid); throws InvalidAnnouncementError. Does not verify the signature.
 */
export function decodeSignedAnnouncement (data: Uint8Array, version: AnnouncementVersion = 1): SignedAnnouncement {
  if (data.byteLength > ANNOUNCEMENT_LIMITS.maxBytes) throw new InvalidAnnouncementError(`announcement is over ${ANNOUNCEMENT_LIMITS.maxBytes} bytes`)
  let parsed: unknown
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data))
  } catch (err) {
    throw new InvalidAnnouncementError('announcement is not UTF-8 JSON', { cause: err })
  }
  const envelope = object(parsed, 'envelope')
  exactKeys(envelope, ENVELOPE_FIELDS, 'envelope')
  if (envelope.v !== version) throw new InvalidAnnouncementError(`unsupported announcement version ${JSON.stringify(envelope.v)} on the version ${version} topic`)
  if (typeof envelope.signature !== 'string' || !BASE64URL.test(envelope.signature)) throw new InvalidAnnouncementError('signature must be base64url')
  return { announcement: checkAnnouncement(envelope.announcement, version), signature: new Uint8Array(Buffer.from(envelope.signature, 'base64url')), version }
}

function canonicalJson (a: Announcement, version: AnnouncementVersion = 1): string {
  const fields = version === 1 || a.site === undefined ? FIELDS : FIELDS_V2
  return '{' + fields.map((field) => `"${field}":${JSON.stringify(a[field])}`).join(',') + '}'
}

function checkAddress (addr: string, peerId: string): void {
  let components
  try {
    components = parseMultiaddrText(addr).components
  } catch (err) {
    throw new InvalidAnnouncementError(`not a multiaddr: ${JSON.stringify(addr)}`, { cause: err })
  }
  const last = components.at(-1)
  if (last?.name === 'p2p' && last.value !== peerId) throw new InvalidAnnouncementError(`address ${addr} names another peer`)
}

function object (value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new InvalidAnnouncementError(`${what} must be a JSON object`)
  return value as Record<string, unknown>
}

function exactKeys (value: Record<string, unknown>, fields: readonly string[], what: string, optional: readonly string[] = []): void {
  const keys = Object.keys(value)
  const unknown = keys.find((k) => !fields.includes(k))
  if (unknown !== undefined) throw new InvalidAnnouncementError(`${what}: unknown field ${JSON.stringify(unknown)}`)
  const missing = fields.find((f) => !keys.includes(f) && !optional.includes(f))
  if (missing !== undefined) throw new InvalidAnnouncementError(`${what}: missing field "${missing}"`)
}

function text (value: unknown, what: string, max: number): string {
  if (typeof value !== 'string' || value.length > max || !TEXT.test(value)) {
    throw new InvalidAnnouncementError(`${what} must be 1-${max} printable ASCII characters without quotes or backslashes`)
  }
  return value
}

function list (value: unknown, what: string, maxItems: number, maxLength: number): string[] {
  if (!Array.isArray(value) || value.length > maxItems) throw new InvalidAnnouncementError(`${what} must be a list of at most ${maxItems} strings`)
  const items = value.map((item) => text(item, `${what} item`, maxLength))
  if (new Set(items).size !== items.length) throw new InvalidAnnouncementError(`${what} has duplicates`)
  return items
}

function count (value: unknown, what: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) throw new InvalidAnnouncementError(`${what} must be a non-negative integer`)
  return value as number
}
