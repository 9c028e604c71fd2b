import { randomInt } from 'node:crypto'
import { wordlist } from '@scure/bip39/wordlists/english.js'
import { defineError } from '../../errors.ts'
import { spake2PasswordScalar } from '../crypto/spake2.ts'

/**
 * The short one-time code a person reads out: `417-orbit-ladder-velvet`, a nameplate
 * (1 to 999, which offer on the sharer's node) and a password of SHORT_CODE_WORDS words
 * of the BIP39 English list (11 bits each). The nameplate is not secret: it travels in
 * the clear to every peer the receiver asks. The password never leaves either node; it
 * only becomes the SPAKE2 scalar w (protocol-spec/handoff.md).
 *
 * Why three words: the sharer burns an offer after HANDOFF_ATTEMPTS wrong attempts, and
 * SPAKE2 gives an online attacker one password guess per attempt and nothing offline,
 * so an attacker's chance against one offer is HANDOFF_ATTEMPTS / 2048^3 =
 * 3 / 2^33 ≈ 3.5e-10. Two words would give 3 / 2^22 ≈ 7e-7.
 */

export const SHORT_CODE_WORDS = 3
export const MAX_NAMEPLATE = 999
/** Wrong attempts an offer survives before it is burned; the figure above assumes it. */
export const HANDOFF_ATTEMPTS = 3

/** The text is not a short code: a message says what is wrong, without echoing the words. */
export const InvalidShortCodeError = defineError('InvalidShortCodeError', 'invalid-short-code')
export type InvalidShortCodeError = InstanceType<typeof InvalidShortCodeError>

export interface ShortCode {
  nameplate: number
  /** SHORT_CODE_WORDS lowercase words of the BIP39 English list. */
  words: readonly string[]
}

const WORDS = new Set(wordlist)
// BIP39 English words are unique in their first four letters, so a four-letter prefix names one
const BY_PREFIX = new Map(wordlist.map((word) => [word.slice(0, 4), word]))

/** A fresh code for `nameplate`; `pick` is injectable so tests can fix the words. */
export function newShortCode (nameplate: number, pick: (n: number) => number = randomInt): ShortCode {
  checkNameplate(nameplate)
  return { nameplate, words: Array.from({ length: SHORT_CODE_WORDS }, () => wordlist[pick(wordlist.length)]!) }
}

/** `417-orbit-ladder-velvet`. */
export function formatShortCode (code: ShortCode): string {
  return [String(code.nameplate), ...code.words].join('-')
}

/**
 * A short code from what a person typed: case is ignored, spaces and hyphens (any
 * number, mixed) separate the parts, and a word may be cut to its first four letters.
 * Then it must be a nameplate of 1 to 3 digits (1..999) and exactly SHORT_CODE_WORDS
 * known words; each failure is an InvalidShortCodeError.
 */
export function parseShortCode (text: string): ShortCode {
  if (typeof text !== 'string') throw new InvalidShortCodeError('a short code is text')
  const parts = text.normalize('NFKD').toLowerCase().trim().split(/[\s-]+/u).filter((p) => p !== '')
  if (parts.length === 0) throw new InvalidShortCodeError('the short code is empty')
  const [first, ...rest] = parts
  if (!/^[0-9]{1,3}$/u.test(first!)) throw new InvalidShortCodeError('a short code starts with its number (1 to 999), as in 417-orbit-ladder-velvet')
  const nameplate = Number(first)
  if (nameplate < 1) throw new InvalidShortCodeError('the number of a short code is 1 to 999')
  if (rest.length !== SHORT_CODE_WORDS) throw new InvalidShortCodeError(`a short code has ${SHORT_CODE_WORDS} words after its number, this one has ${rest.length}`)
  const words = rest.map((word) => WORDS.has(word) ? word : word.length >= 4 ? BY_PREFIX.get(word.slice(0, 4)) : undefined)
  const unknown = words.flatMap((word, i) => word === undefined || !word.startsWith(rest[i]!) ? [i + 1] : [])
  if (unknown.length > 0) throw new InvalidShortCodeError(`word${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} of the short code ${unknown.length > 1 ? 'are' : 'is'} not in the word list`)
  return { nameplate, words: words as string[] }
}

/** The SPAKE2 w of a code: scrypt over the words, salted with the protocol label and the nameplate. */
export function shortCodeScalar (code: ShortCode): bigint {
  const encoder = new TextEncoder()
  return spake2PasswordScalar(encoder.encode(code.words.join('-')), encoder.encode(`quloud/handoff/1 w ${code.nameplate}`))
}

export function checkNameplate (nameplate: number): void {
  if (!Number.isInteger(nameplate) || nameplate < 1 || nameplate > MAX_NAMEPLATE) throw new InvalidShortCodeError(`a nameplate is 1 to ${MAX_NAMEPLATE}`)
}

/**
 * Whether `text` has the shape of a short code (a number of 1 to 3 digits, then a
 * word) rather than of a long share code, whose first group has five symbols.
 */
export function looksLikeShortCode (text: string): boolean {
  return typeof text === 'string' && /^\s*[0-9]{1,3}[\s-]+[a-z]/iu.test(text)
}
