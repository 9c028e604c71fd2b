import { createHmac, createSecretKey, type KeyObject } from 'node:crypto'
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'

/**
 * A file's keyed content hash, kept in the owner's catalogue (version 3) so that the
 * owner's node can tell a file on disk is the stored one without fetching it
 * (`get --skip-existing`). Keyed, so a catalogue that leaks does not confirm which
 * known files an owner has: HMAC-SHA256 under a key only the master secret gives,
 *
 *   key = HKDF-SHA256(IKM = master, salt = empty, info = "quloud/v2/content-hash-key" || 0x00, 32)
 *
 * (the construction of key-derivation.ts). protocol-spec/manifests-and-catalogue.md
 * ("Catalogue") is normative. One key per owner, not per file: equal contents have equal
 * hashes across files and versions.
 */

export const CONTENT_HASH_KEY_LABEL = 'quloud/v2/content-hash-key'

/** The HMAC key of an owner's content hashes. */
export function contentHashKey (master: Uint8Array): Uint8Array {
  // one array per master, so what is kept per key (its key object, its stat stamps) outlives a command
  let key = hashKeys.get(master)
  if (key === undefined) {
    key = hkdf(sha256, master, new Uint8Array(0), new TextEncoder().encode(`${CONTENT_HASH_KEY_LABEL}\0`), 32)
    hashKeys.set(master, key)
  }
  return key
}
const hashKeys = new WeakMap<Uint8Array, Uint8Array>()

/**
 * What is kept per content-hash key: its key object (node:crypto turns a raw key into one
 * on every HMAC, 14 of the 16 µs of a stat stamp) and the stat stamps made under it.
 */
interface KeyState { object: KeyObject, stamps: Map<string, string> }
const keyStates = new WeakMap<Uint8Array, KeyState>()
function stateOf (key: Uint8Array): KeyState {
  let state = keyStates.get(key)
  if (state === undefined) {
    state = { object: createSecretKey(key), stamps: new Map() }
    keyStates.set(key, state)
  }
  return state
}

/** An incremental content hash; `digest` gives 64 lowercase hex digits. */
export function contentHasher (key: Uint8Array): { update: (bytes: Uint8Array) => void, digest: () => string } {
  const hmac = createHmac('sha256', stateOf(key).object)
  return { update: (bytes) => { hmac.update(bytes) }, digest: () => hmac.digest('hex') }
}

/** The content hash of bytes held whole. */
export function contentHashOf (key: Uint8Array, bytes: Uint8Array): string {
  const hasher = contentHasher(key)
  hasher.update(bytes)
  return hasher.digest()
}

export const STAT_STAMP_LABEL = 'quloud/v4/stat-stamp'

/**
 * A file's stat stamp (catalogue version 4): the first 16 bytes, as 32 lowercase hex
 * digits, of HMAC-SHA256 under the content-hash key of
 * ASCII("quloud/v4/stat-stamp") || 0x00 || ASCII(identity), where identity is
 * "<device>:<inode>:<change time in ms>" as the owner's file system reports them. Keyed
 * and local: it says nothing to anyone but the owner's node, which compares it only.
 */
export function statStamp (key: Uint8Array, identity: string): string {
  const { object, stamps } = stateOf(key)
  const known = stamps.get(identity)
  if (known !== undefined) return known
  const hmac = createHmac('sha256', object)
  hmac.update(`${STAT_STAMP_LABEL}\0${identity}`)
  const stamp = hmac.digest('hex').slice(0, 32)
  if (stamps.size >= STAMP_MEMO_MAX) stamps.clear()
  stamps.set(identity, stamp)
  return stamp
}

// A re-put stamps every file of the tree to tell the unchanged ones, and an unchanged
// file has the identity it had at the last put: remembered, 2,000 stamps cost ~0.3 ms
// instead of ~8. Bounded (~20 MB of heap at the cap, measured), started over when full.
const STAMP_MEMO_MAX = 65_536
