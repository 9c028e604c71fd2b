import { createHash } from 'node:crypto'
import { defineError, InvalidInputError } from '../../errors.ts'
import { FILE_ID_BYTES, isFileId, type FileId } from './file-id.ts'
import { FILE_ROOT_BYTES } from '../crypto/key-derivation.ts'

/**
 * A share code: what `quloud share` prints and `quloud receive` takes, read over the
 * phone or scanned. It carries one file's id and root F (key-derivation.ts), which is
 * everything needed to find, prove for, fetch and decrypt that file, and nothing else.
 * protocol-spec/manifests-and-catalogue.md is normative.
 *
 *   bytes = version (1 byte, 0x01) || file id (16) || F (32) || checksum (4)
 *   checksum = SHA-256(ASCII("quloud/v1/share-code-checksum") || 0x00 || version || file id || F)[0..4]
 *   text = "Q1-" then Crockford base32 of the 53 bytes (85 symbols, the last one padded
 *          with one zero bit), upper case, in 17 groups of 5 joined by "-"
 *
 * Reading is forgiving in form and strict in content: case is ignored, hyphens and
 * white space are ignored, I and L read as 1 and O as 0 (Crockford's rule, for codes
 * read aloud), and the "Q1" prefix may be left out. Then the checksum must match: it
 * catches a mistyped symbol or two swapped ones before anything goes on the network
 * (a random error passes with probability 2^-32). The padding bit must be zero, so a
 * changed last symbol cannot slip through either.
 *
 * A share code is a secret (F opens the file): errors never echo it.
 */

export const SHARE_CODE_VERSION = 1
export const SHARE_CODE_PREFIX = 'Q1'
export const CHECKSUM_BYTES = 4
const PAYLOAD_BYTES = 1 + FILE_ID_BYTES + FILE_ROOT_BYTES
const CODE_BYTES = PAYLOAD_BYTES + CHECKSUM_BYTES
/** 53 bytes = 424 bits: 85 symbols of 5 bits. */
export const SHARE_CODE_SYMBOLS = Math.ceil(CODE_BYTES * 8 / 5)
const GROUP = 5
const CHECKSUM_LABEL = 'quloud/v1/share-code-checksum'

/** Crockford's base32 alphabet: digits and letters without I, L, O and U. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
const VALUE = new Map<string, number>([...ALPHABET].map((c, i) => [c, i]))

/** The text is not a share code: wrong length, characters, prefix or version. */
export const InvalidShareCodeError = defineError('InvalidShareCodeError', 'invalid-share-code')
export type InvalidShareCodeError = InstanceType<typeof InvalidShareCodeError>

/** The text has the shape of a share code but its checksum does not match: a typo. */
export const ShareCodeChecksumError = defineError('ShareCodeChecksumError', 'share-code-checksum')
export type ShareCodeChecksumError = InstanceType<typeof ShareCodeChecksumError>

export interface SharedFile {
  fileId: FileId
  /** The file root F, 32 bytes. */
  fileRoot: Uint8Array
}

/** The share code of one file, in its canonical printed form. */
export function encodeShareCode (shared: SharedFile): string {
  if (!isFileId(shared?.fileId)) throw new InvalidInputError(`a file id is ${FILE_ID_BYTES} bytes`)
  if (!(shared.fileRoot instanceof Uint8Array) || shared.fileRoot.byteLength !== FILE_ROOT_BYTES) {
    throw new InvalidInputError(`a file root is ${FILE_ROOT_BYTES} bytes`)
  }
  const bytes = new Uint8Array(CODE_BYTES)
  bytes[0] = SHARE_CODE_VERSION
  bytes.set(shared.fileId, 1)
  bytes.set(shared.fileRoot, 1 + FILE_ID_BYTES)
  bytes.set(checksumOf(bytes.subarray(0, PAYLOAD_BYTES)), PAYLOAD_BYTES)
  const symbols = toBase32(bytes)
  const groups: string[] = []
  for (let at = 0; at < symbols.length; at += GROUP) groups.push(symbols.slice(at, at + GROUP))
  return `${SHARE_CODE_PREFIX}-${groups.join('-')}`
}

/**
 * The file a share code names. InvalidShareCodeError for a wrong length, a character
 * outside the alphabet, a wrong prefix, non-zero padding or an unknown version;
 * ShareCodeChecksumError when everything has the right shape but the checksum fails.
 */
export function decodeShareCode (text: string): SharedFile {
  if (typeof text !== 'string') throw new InvalidShareCodeError('a share code is text')
  // aliases first: "Q-one" read as "QI" or "QL" is still the prefix
  let compact = text.replace(/[\s-]+/gu, '').toUpperCase().replace(/[IL]/g, '1').replace(/O/g, '0')
  if (compact.length === SHARE_CODE_PREFIX.length + SHARE_CODE_SYMBOLS) {
    if (!compact.startsWith(SHARE_CODE_PREFIX)) throw new InvalidShareCodeError(`a share code starts with ${SHARE_CODE_PREFIX}`)
    compact = compact.slice(SHARE_CODE_PREFIX.length)
  }
  if (compact.length !== SHARE_CODE_SYMBOLS) {
    throw new InvalidShareCodeError(`a share code has ${SHARE_CODE_SYMBOLS} symbols after "${SHARE_CODE_PREFIX}", this one has ${compact.length}`)
  }
  const values: number[] = []
  for (let i = 0; i < compact.length; i++) {
    const value = VALUE.get(compact[i]!)
    if (value === undefined) throw new InvalidShareCodeError(`symbol ${i + 1} of the share code is not a letter or digit it can hold`)
    values.push(value)
  }
  const bytes = fromBase32(values)
  if (!Buffer.from(checksumOf(bytes.subarray(0, PAYLOAD_BYTES))).equals(bytes.subarray(PAYLOAD_BYTES))) {
    throw new ShareCodeChecksumError('the share code does not check out: a character is wrong or two are swapped')
  }
  if (bytes[0] !== SHARE_CODE_VERSION) {
    throw new InvalidShareCodeError(`share code version ${bytes[0]} is not known to this version of Quloud`)
  }
  return { fileId: bytes.slice(1, 1 + FILE_ID_BYTES), fileRoot: bytes.slice(1 + FILE_ID_BYTES, PAYLOAD_BYTES) }
}

export function isValidShareCode (text: string): boolean {
  try {
    decodeShareCode(text)
    return true
  } catch {
    return false
  }
}

function checksumOf (payload: Uint8Array): Uint8Array {
  const hash = createHash('sha256').update(CHECKSUM_LABEL, 'ascii').update(Uint8Array.of(0)).update(payload).digest()
  return hash.subarray(0, CHECKSUM_BYTES)
}

/** Most significant bit first; the last symbol padded with zero bits. */
function toBase32 (bytes: Uint8Array): string {
  let out = ''
  let buffer = 0
  let bits = 0
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte
    bits += 8
    while (bits >= 5) {
      bits -= 5
      out += ALPHABET[(buffer >>> bits) & 31]
    }
    buffer &= (1 << bits) - 1
  }
  if (bits > 0) out += ALPHABET[(buffer << (5 - bits)) & 31]
  return out
}

function fromBase32 (values: number[]): Uint8Array {
  const out = new Uint8Array(CODE_BYTES)
  let buffer = 0
  let bits = 0
  let at = 0
  for (const value of values) {
    buffer = (buffer << 5) | value
    bits += 5
    if (bits >= 8) {
      bits -= 8
      out[at++] = (buffer >>> bits) & 0xff
    }
    buffer &= (1 << bits) - 1
  }
  // what is left is padding: it must be zero, or two texts would decode to one code
  if (buffer !== 0) throw new InvalidShareCodeError('the last symbol of the share code is not one a share code can end with')
  return out
}
