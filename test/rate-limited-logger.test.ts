import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { RateLimitedLogger } from '../src/adapters/logging/rate-limited-logger.ts'
import type { Logger } from '../src/ports/logger.ts'

function recording (): { log: Logger, lines: Array<[string, string]> } {
  const lines: Array<[string, string]> = []
  const at = (level: string) => (message: string) => { lines.push([level, message]) }
  return { log: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, lines }
}

/**
 * A peer that sends 10,000 bad requests a minute must not write 10,000 log lines: the
 * readable log gets a few per minute and a count, debug gets them all. Failures (error
 * lines) have a budget of their own, so refusals cannot hide them, nor can a peer that
 * found a request the node fails on write an error per request.
 */
describe('RateLimitedLogger: the log of what peers cause', () => {
  it('lets 20 refusals a minute through, sends the rest to debug, and counts them', () => {
    let now = 0
    const { log, lines } = recording()
    const limited = new RateLimitedLogger({ inner: log, now: () => now })
    for (let i = 0; i < 10_000; i++) limited.info(`refused request ${i}`)
    limited.error('a request failed inside the node')
    assert.equal(lines.filter(([level]) => level === 'info').length, 20)
    assert.equal(lines.filter(([level]) => level === 'debug').length, 9_980)
    assert.equal(lines.filter(([level]) => level === 'error').length, 1)
    now += 60_000
    limited.warn('a new minute')
    assert.deepEqual(lines.slice(-2), [['info', '9980 more such line(s) in the last 60 s went to debug'], ['warn', 'a new minute']])
  })

  it('attack: a peer repeating a request the node fails on gets 20 error lines a minute, and refusals do not use them up', () => {
    let now = 0
    const { log, lines } = recording()
    const limited = new RateLimitedLogger({ inner: log, now: () => now })
    for (let i = 0; i < 5_000; i++) {
      limited.info(`refused request ${i}`)
      limited.error(`store from peer ${i} failed`, new Error('internal'))
    }
    assert.equal(lines.filter(([level]) => level === 'error').length, 20, 'failures are limited, and not crowded out by the refusals before them')
    assert.equal(lines.filter(([level]) => level === 'info').length, 20)
    assert.equal(lines.filter(([level]) => level === 'debug').length, 2 * 4_980)
    now += 60_000
    limited.error('a new minute')
    assert.deepEqual(lines.slice(-3), [
      ['info', '4980 more such line(s) in the last 60 s went to debug'],
      ['error', '4980 more failed request(s) in the last 60 s, logged at debug (Error 4980)'],
      ['error', 'a new minute']
    ])
  })

  it('attack: a peer spending the failures\' budget cannot hide another kind of failure behind it', () => {
    const { log, lines } = recording()
    const limited = new RateLimitedLogger({ inner: log, now: () => 0 })
    for (let i = 0; i < 1_000; i++) limited.error(`store from peer ${i} failed`, new TypeError('a bug a peer found'))
    const diskFull = Object.assign(new Error('ENOSPC: no space left on device'), { name: 'StorageError' })
    limited.error('store from an honest peer failed', diskFull)
    limited.error('store from another honest peer failed', diskFull)
    assert.deepEqual(lines.filter(([level]) => level === 'error').map(([, message]) => message).slice(-2), [
      'store from peer 19 failed', 'store from an honest peer failed'
    ], 'the first failure of another kind passes, the next of it is held')
    limited.flush()
    assert.deepEqual(lines.at(-1), ['error', '981 more failed request(s) in the last 60 s, logged at debug (TypeError 980, StorageError 1)'])
  })

  it('writes what it held back when its window ends, though no further line comes', async () => {
    const { log, lines } = recording()
    const limited = new RateLimitedLogger({ inner: log, windowMs: 50 })
    for (let i = 0; i < 25; i++) limited.warn(`refused request ${i}`)
    await new Promise((resolve) => setTimeout(resolve, 150))
    assert.deepEqual(lines.at(-1), ['info', '5 more such line(s) in the last 0 s went to debug'])
  })

  it('starts a new window when its clock goes back, instead of holding everything until it catches up', () => {
    let now = 3_600_000
    const { log, lines } = recording()
    const limited = new RateLimitedLogger({ inner: log, now: () => now })
    for (let i = 0; i < 21; i++) limited.error(`failure ${i}`, new Error('x'))
    now = 0
    limited.error('after the step back', new Error('x'))
    assert.equal(lines.at(-1)?.[1], 'after the step back')
  })
})
