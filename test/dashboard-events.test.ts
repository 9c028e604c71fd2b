import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { RecentEvents } from '../src/adapters/dashboard/recent-events.ts'
import type { LoggerFactory } from '../src/ports/logger.ts'

describe('the dashboard\'s recent events', () => {
  const inner = (lines: string[]): LoggerFactory => (ns) => ({
    debug: (m) => lines.push(`debug ${ns} ${m}`),
    info: (m) => lines.push(`info ${ns} ${m}`),
    warn: (m) => lines.push(`warn ${ns} ${m}`),
    error: (m) => lines.push(`error ${ns} ${m}`)
  })

  it('tee keeps info, warn and error lines (not debug) and still writes every line to the real log', () => {
    const lines: string[] = []
    const events = new RecentEvents(10)
    const log = events.tee(inner(lines))('owner')
    log.debug('chatty')
    log.info('put done', { files: 2 })
    log.warn('under-replicated')
    log.error('failed', new Error('disk full'))
    assert.deepEqual(lines, ['debug owner chatty', 'info owner put done', 'warn owner under-replicated', 'error owner failed'])
    assert.deepEqual(events.list().map((e) => `${e.level} ${e.source} ${e.message}`), ['info owner put done {"files":2}', 'warn owner under-replicated', 'error owner failed disk full'])
  })

  it('an argument JSON cannot show does not make a log call throw', () => {
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    const events = new RecentEvents(10)
    const log = events.tee(inner([]))('x')
    log.info('odd', cyclic, 10n)
    assert.equal(events.list()[0]!.message, 'odd [object Object] 10')
  })

  it('holds the last `limit` events only, oldest first', () => {
    const events = new RecentEvents(3)
    for (let i = 0; i < 7; i++) events.push({ at: i, level: 'info', source: 's', message: String(i) })
    assert.deepEqual(events.list().map((e) => e.message), ['4', '5', '6'])
  })
})
