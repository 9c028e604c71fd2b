import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { wordlist } from '@scure/bip39/wordlists/english.js'
import {
  generateMasterSecret, isValidRecoveryPhrase, masterSecretToPhrase, phraseToMasterSecret, MASTER_SECRET_BYTES
} from '../src/domain/crypto/master-secret.ts'

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'))

// the 256-bit entropy vectors of the BIP39 reference (trezor/python-mnemonic vectors.json)
const BIP39_VECTORS: Array<[string, string]> = [
  ['00'.repeat(32), 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon ' +
    'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon art'],
  ['7f'.repeat(32), 'legal winner thank year wave sausage worth useful legal winner thank year wave sausage worth ' +
    'useful legal winner thank year wave sausage worth title'],
  ['80'.repeat(32), 'letter advice cage absurd amount doctor acoustic avoid letter advice cage absurd amount doctor ' +
    'acoustic avoid letter advice cage absurd amount doctor acoustic bless'],
  ['ff'.repeat(32), 'zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo vote'],
  ['68a79eaca2324873eacc50cb9c6eca8cc68ea5d936f98787c60c7ebc74e6ce7c', 'hamster diagram private dutch cause delay ' +
    'private meat slide toddler razor book happy fancy gospel tennis maple dilemma loan word shrug inflict delay length']
]

describe('master secret and recovery phrase', () => {
  it('generates 32 random bytes', () => {
    const a = generateMasterSecret()
    const b = generateMasterSecret()
    assert.equal(a.byteLength, MASTER_SECRET_BYTES)
    assert.notDeepEqual(a, b)
    assert.deepEqual(generateMasterSecret((n) => new Uint8Array(n).fill(7)), new Uint8Array(32).fill(7))
  })

  it('matches the BIP39 reference vectors both ways', () => {
    for (const [entropy, phrase] of BIP39_VECTORS) {
      assert.equal(masterSecretToPhrase(hex(entropy)), phrase)
      assert.deepEqual(phraseToMasterSecret(phrase), hex(entropy))
    }
  })

  it('round-trips random secrets through 24 English words', () => {
    for (let i = 0; i < 50; i++) {
      const secret = generateMasterSecret()
      const phrase = masterSecretToPhrase(secret)
      const words = phrase.split(' ')
      assert.equal(words.length, 24)
      for (const w of words) assert.ok(wordlist.includes(w), w)
      assert.deepEqual(phraseToMasterSecret(phrase), secret)
    }
  })

  it('ignores case and any whitespace between, before and after words', () => {
    const secret = generateMasterSecret()
    const words = masterSecretToPhrase(secret).split(' ')
    const messy = '\n  ' + words.map((w, i) => i % 2 === 0 ? w.toUpperCase() : w).join(' \t \n ') + ' \t\r\n'
    assert.deepEqual(phraseToMasterSecret(messy), secret)
    assert.equal(isValidRecoveryPhrase(messy), true)
  })

  it('refuses a wrong number of words', () => {
    const words = masterSecretToPhrase(generateMasterSecret()).split(' ')
    for (const phrase of ['', '   ', words.slice(0, 23).join(' '), [...words, 'abandon'].join(' '),
      // a valid 12-word BIP39 phrase is still not a Quloud recovery phrase
      'legal winner thank year wave sausage worth useful legal winner thank yellow']) {
      assert.throws(() => phraseToMasterSecret(phrase), { name: 'InvalidRecoveryPhraseError', message: /24 words/ })
      assert.equal(isValidRecoveryPhrase(phrase), false)
    }
  })

  it('refuses unknown words, naming their positions but not the words', () => {
    const words = masterSecretToPhrase(generateMasterSecret()).split(' ')
    words[4] = 'quloudium'
    words[20] = 'bitcoinz'
    assert.throws(() => phraseToMasterSecret(words.join(' ')), (err: Error) => {
      assert.equal(err.name, 'InvalidRecoveryPhraseError')
      // the phrase is a secret: the message must not carry any of it into a log
      assert.equal(err.message, 'words 5, 21 of the recovery phrase are not in the BIP39 English word list')
      return true
    })
  })

  it('refuses a bad checksum: a changed word or two swapped words', () => {
    const phrase = BIP39_VECTORS[4]![1]
    const words = phrase.split(' ')
    const changed = [...words]
    changed[23] = changed[23] === 'length' ? 'letter' : 'length'
    const swapped = [...words]
    ;[swapped[0], swapped[1]] = [swapped[1]!, swapped[0]!]
    for (const bad of [changed, swapped]) {
      assert.throws(() => phraseToMasterSecret(bad.join(' ')), { name: 'InvalidRecoveryPhraseError', code: 'invalid-recovery-phrase', message: /checksum/ })
    }
  })

  it('refuses secrets that are not 32 bytes', () => {
    assert.throws(() => masterSecretToPhrase(new Uint8Array(16)), { name: 'InvalidInputError' })
    assert.throws(() => phraseToMasterSecret(42 as unknown as string), { name: 'InvalidRecoveryPhraseError' })
  })
})

