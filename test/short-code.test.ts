import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { wordlist } from '@scure/bip39/wordlists/english.js'
import {
  formatShortCode, HANDOFF_ATTEMPTS, InvalidShortCodeError, newShortCode, parseShortCode, SHORT_CODE_WORDS, shortCodeScalar
} from '../src/domain/formats/short-code.ts'

describe('short code', () => {
  it('formats as nameplate-word-word-word and parses back', () => {
    const code = newShortCode(417)
    assert.equal(code.words.length, SHORT_CODE_WORDS)
    for (const word of code.words) assert.ok(wordlist.includes(word))
    const text = formatShortCode(code)
    assert.match(text, /^417(-[a-z]+){3}$/)
    assert.deepEqual(parseShortCode(text), code)
  })

  it('is forgiving: case, spaces, several hyphens, four-letter prefixes', () => {
    const want = { nameplate: 7, words: ['orbit', 'ladder', 'velvet'] }
    for (const typed of ['7-orbit-ladder-velvet', ' 7 ORBIT ladder  Velvet ', '7--orbit - ladder-velvet', '007 orbi ladd velv', '7 orbit ladde velvet']) {
      assert.deepEqual(parseShortCode(typed), want, typed)
    }
  })

  it('refuses what is not a code, with a typed error that does not echo the words', () => {
    const bad = ['', '   ', 'orbit-ladder-velvet', '0-orbit-ladder-velvet', '1000-orbit-ladder-velvet', '7-orbit-ladder',
      '7-orbit-ladder-velvet-abandon', '7-orbit-ladder-velvex', '7-orb-ladder-velvet', '7-orbitx-ladder-velvet', '7a-orbit-ladder-velvet']
    for (const typed of bad) {
      assert.throws(() => parseShortCode(typed), (err: unknown) => {
        assert.ok(err instanceof InvalidShortCodeError, typed)
        assert.ok(!/velvex|orbitx/.test((err as Error).message), 'the message does not repeat the words')
        return true
      })
    }
    assert.throws(() => newShortCode(0), InvalidShortCodeError)
    assert.throws(() => newShortCode(1000), InvalidShortCodeError)
  })

  it('an online guesser\'s chance against one offer is HANDOFF_ATTEMPTS / 2048^words, below 1e-9', () => {
    const chance = HANDOFF_ATTEMPTS / wordlist.length ** SHORT_CODE_WORDS
    assert.ok(chance < 1e-9, String(chance))
  })

  it('w depends on every word and on the nameplate', () => {
    const base = shortCodeScalar({ nameplate: 7, words: ['orbit', 'ladder', 'velvet'] })
    assert.equal(shortCodeScalar(parseShortCode('7 ORBIT ladd velvet')), base)
    assert.notEqual(shortCodeScalar({ nameplate: 8, words: ['orbit', 'ladder', 'velvet'] }), base)
    assert.notEqual(shortCodeScalar({ nameplate: 7, words: ['orbit', 'ladder', 'vendor'] }), base)
  })
})
