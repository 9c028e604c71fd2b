import { createHash } from 'node:crypto'
import { defineError, InvalidInputError } from '../../errors.ts'
import { READ_ROOT_BYTES } from '../crypto/key-derivation.ts'
import { checkReadCapability, WRITER_PIN_BYTES, type ReadCapability } from '../capabilities/file-capabilities.ts'

/**
 * A share code: what `quloud share` prints and `quloud receive` takes, read over the
 * phone or scanned. It carries one file's read capability (file-capabilities.ts): the
 * read root R, which finds, proves for and decrypts that file, and the pin of the key
 * that signs its manifests, so the receiver believes no manifest the owner did not
 * sign. Nothing in it writes or deletes. protocol-spec/manifests-and-catalogue.md is
 * normative.
 *
 *   bytes = version (1 byte, 0x02) || R (16) || writer pin (16) || checksum (4)
 *   checksum = SHA-256(ASCII("quloud/v2/share-code-checksum") || 0x00 || version || R || pin)[0..4]
 *   text = "Q2-" then Crockford base32 of the 37 bytes (60 symbols, the last one padded
 *          with four zero bits), upper case, in 12 groups of 5 joined by "-" (74 characters)
 *
 * Reading is forgiving in form and strict in content: case is ignored, hyphens and
 * white space are ignored, I and L read as 1 and O as 0 (Crockford's rule, for codes
 * read aloud), and the "Q2" prefix may be left out. Then the checksum must match: it
 * catches a mistyped symbol or two swapped ones before anything goes on the network
 * (a random error passes with probability 2^-32). The padding bits must be zero, so a
 * changed last symbol cannot slip through either.
 *
 * A share code is a secret (R opens the file): errors never echo it.
 */

export const SHARE_CODE_VERSION = 2
export const SHARE_CODE_PREFIX = 'Q2'
export const CHECKSUM_BYTES = 4
const PAYLOAD_BYTES = 1 + READ_ROOT_BYTES + WRITER_PIN_BYTES
const CODE_BYTES = PAYLOAD_BYTES + CHECKSUM_BYTES
/** 37 bytes = 296 bits: 60 symbols of 5 bits. */
export const SHARE_CODE_SYMBOLS = Math.ceil(CODE_BYTES * 8 / 5)
/** Symbols of a version 1 code (`Q1-`, file id and file root), recognised to say so. */
const V1_SYMBOLS = 85
const GROUP = 5
const CHECKSUM_LABEL = 'quloud/v2/share-code-checksum'

/** Crockford's base32 alphabet: digits and letters without I, L, O and U. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
const VALUE = new Map<string, number>([...ALPHABET].map((c, i) => [c, i]))

/** The text is not a share code: wrong length, characters, prefix or version. */
export const InvalidShareCodeError = defineError('InvalidShareCodeError', 'invalid-share-code')
export type InvalidShareCodeError = InstanceType<typeof InvalidShareCodeError>

/** The text has the shape of a share code but its checksum does not match: a typo. */
export const ShareCodeChecksumError = defineError('ShareCodeChecksumError', 'share-code-checksum')
export type ShareCodeChecksumError = InstanceType<typeof ShareCodeChecksumError>

/** The share code of one file's read capability, in its canonical printed form. */
export function encodeShareCode (read: ReadCapability): string {
  try {
    checkReadCapability(read)
  } catch (err) {
    throw new InvalidInputError(`not a read capability: ${(err as Error).message}`)
  }
  const bytes = new Uint8Array(CODE_BYTES)
  bytes[0] = SHARE_CODE_VERSION
  bytes.set(read.readRoot, 1)
  bytes.set(read.writerPin, 1 + READ_ROOT_BYTES)
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
export function decodeShareCode (text: string): ReadCapability {
  if (typeof text !== 'string') throw new InvalidShareCodeError('a share code is text')
  // aliases first: "Q-one" read as "QI" or "QL" is still the prefix
  let compact = text.replace(/[\s-]+/gu, '').toUpperCase().replace(/[IL]/g, '1').replace(/O/g, '0')
  if (compact.length === SHARE_CODE_PREFIX.length + SHARE_CODE_SYMBOLS) {
    if (!compact.startsWith(SHARE_CODE_PREFIX)) throw new InvalidShareCodeError(`a share code starts with ${SHARE_CODE_PREFIX}`)
    compact = compact.slice(SHARE_CODE_PREFIX.length)
  }
  if (compact.length === V1_SYMBOLS || (compact.length === V1_SYMBOLS + 2 && compact.startsWith('Q1'))) {
    throw new InvalidShareCodeError('this is a share code of Quloud protocol v1, which this version no longer reads; ask the owner to share the file again')
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
  return { readRoot: bytes.slice(1, 1 + READ_ROOT_BYTES), writerPin: bytes.slice(1 + READ_ROOT_BYTES, PAYLOAD_BYTES) }
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
