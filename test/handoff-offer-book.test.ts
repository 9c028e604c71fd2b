import assert from 'node:assert/strict'
import { beforeEach, describe, it } from 'node:test'
import { OfferRefusedError } from '../src/app/handoff/handoff-errors.ts'
import { MAX_OFFERS, OfferBook } from '../src/app/handoff/offer-book.ts'

describe('handoff offer book', () => {
  let now: number
  let book: OfferBook
  const capability = Uint8Array.of(1, 2, 3)

  beforeEach(() => {
    now = 1_000_000
    book = new OfferBook({ now: () => now, attempts: 3 })
    book.add({ nameplate: 7, w: 42n, capability, expiresAt: now + 60_000 })
  })

  it('is one-time: claimed once, then gone', () => {
    const attempt = book.begin(7)!
    assert.equal(attempt.w, 42n)
    assert.deepEqual(book.claim(attempt), capability)
    assert.equal(book.begin(7), undefined)
    assert.equal(book.size, 0)
  })

  it('an attempt is spent when an exchange starts, and the offer burns after the last fails', () => {
    for (let i = 0; i < 3; i++) book.fail(book.begin(7)!)
    assert.equal(book.begin(7), undefined, 'burned')
    assert.equal(book.size, 0)
  })

  it('concurrent exchanges cannot spend more than the attempts, and only one can claim', () => {
    const running = [book.begin(7)!, book.begin(7)!, book.begin(7)!]
    assert.equal(book.begin(7), undefined, 'no fourth exchange while three run')
    assert.deepEqual(book.claim(running[1]!), capability)
    assert.equal(book.claim(running[0]!), undefined)
    book.fail(running[2]!)
    assert.equal(book.size, 0)
  })

  it('expires, also between begin and claim', () => {
    const attempt = book.begin(7)!
    now += 60_000
    assert.equal(book.claim(attempt), undefined)
    assert.equal(book.begin(7), undefined)
  })

  it('refuses a taken nameplate and more than MAX_OFFERS live offers; free nameplates avoid taken ones', () => {
    assert.throws(() => book.add({ nameplate: 7, w: 1n, capability, expiresAt: now + 1 }), OfferRefusedError)
    for (let i = 1; book.size < MAX_OFFERS; i++) {
      if (i !== 7) book.add({ nameplate: i, w: 1n, capability, expiresAt: now + 1000 })
    }
    assert.throws(() => book.freeNameplate(), OfferRefusedError)
    now += 1000 // all but nameplate 7 expire
    const free = book.freeNameplate()
    assert.notEqual(free, 7)
    assert.ok(free >= 1 && free <= 999)
  })

  it('keeps its own copy of the capability', () => {
    const bytes = Uint8Array.of(9, 9)
    book.add({ nameplate: 8, w: 1n, capability: bytes, expiresAt: now + 1000 })
    bytes[0] = 0
    assert.deepEqual(book.claim(book.begin(8)!), Uint8Array.of(9, 9))
  })
})
