import { randomBytes } from 'node:crypto'
import { entropyToMnemonic, mnemonicToEntropy } from '@scure/bip39'
import { wordlist } from '@scure/bip39/wordlists/english.js'
import { defineError, InvalidInputError } from '../../errors.ts'

/**
 * The owner master secret: 32 random bytes from which every owner key derives
 * (key-derivation.ts). It is shown to the owner once, as a 24-word BIP39 English
 * recovery phrase, and `quloud init --recover` turns the phrase back into the secret.
 *
 * BIP39 is used only as an encoding of the 256-bit secret (entropy <-> words with an
 * 8-bit checksum). Its PBKDF2 "seed" step is not: the secret is already uniformly
 * random, so stretching it would only slow recovery down.
 */

export const MASTER_SECRET_BYTES = 32

/** 256 bits of entropy + 8 checksum bits = 264 bits = 24 words of 11 bits. */
export const RECOVERY_PHRASE_WORDS = 24

/** The recovery phrase is not 24 known words with a valid checksum. */
export const InvalidRecoveryPhraseError = defineError('InvalidRecoveryPhraseError', 'invalid-recovery-phrase')
export type InvalidRecoveryPhraseError = InstanceType<typeof InvalidRecoveryPhraseError>

const WORD_INDEX = new Map(wordlist.map((word, index) => [word, index]))

/** A fresh master secret. `random` is injectable so tests can fix it. */
export function generateMasterSecret (random: (n: number) => Uint8Array = randomBytes): Uint8Array {
  return assertMasterSecret(Uint8Array.from(random(MASTER_SECRET_BYTES)))
}

/** Throws InvalidInputError unless `secret` is 32 bytes; returns it for chaining. */
export function assertMasterSecret (secret: Uint8Array): Uint8Array {
  if (!(secret instanceof Uint8Array) || secret.byteLength !== MASTER_SECRET_BYTES) {
    throw new InvalidInputError(`a master secret is ${MASTER_SECRET_BYTES} bytes`)
  }
  return secret
}

/** The 24 lowercase English words, separated by single spaces. */
export function masterSecretToPhrase (secret: Uint8Array): string {
  return entropyToMnemonic(assertMasterSecret(secret), wordlist)
}

/**
 * The master secret a recovery phrase encodes. Forgiving in form, strict in content:
 * any whitespace (spaces, tabs, newlines, several in a row) separates words, case is
 * ignored, leading/trailing space is dropped; then there must be exactly 24 words, each
 * in the BIP39 English list, and the checksum must match. Each failure is an
 * InvalidRecoveryPhraseError whose message says which, without echoing the phrase.
 */
export function phraseToMasterSecret (phrase: string): Uint8Array {
  if (typeof phrase !== 'string') throw new InvalidRecoveryPhraseError('the recovery phrase must be text')
  const words = normalizePhrase(phrase)
  if (words.length !== RECOVERY_PHRASE_WORDS) {
    throw new InvalidRecoveryPhraseError(`a recovery phrase has ${RECOVERY_PHRASE_WORDS} words, this one has ${words.length}`)
  }
  const unknown = words.flatMap((word, i) => WORD_INDEX.has(word) ? [] : [i + 1])
  if (unknown.length > 0) {
    // positions only: the words themselves are secret material and may end up in logs
    throw new InvalidRecoveryPhraseError(`word${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} of the recovery phrase ${unknown.length > 1 ? 'are' : 'is'} not in the BIP39 English word list`)
  }
  try {
    return mnemonicToEntropy(words.join(' '), wordlist)
  } catch (err) {
    throw new InvalidRecoveryPhraseError('the recovery phrase checksum does not match: a word is wrong or two words are swapped', { cause: err })
  }
}

/** True when `phrase` decodes to a master secret. */
export function isValidRecoveryPhrase (phrase: string): boolean {
  try {
    phraseToMasterSecret(phrase)
    return true
  } catch {
    return false
  }
}

function normalizePhrase (phrase: string): string[] {
  // NFKD as BIP39 prescribes; for the ASCII English list it only matters for look-alikes
  const text = phrase.normalize('NFKD').toLowerCase().trim()
  return text === '' ? [] : text.split(/\s+/u)
}
