import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { quietLibp2pLogger } from '../src/adapters/libp2p/quiet-logger.ts'

describe('libp2p\'s loggers, quiet unless DEBUG is set', () => {
  it('DEBUG unset: one shared logger that does nothing, for every component and every scope below it (no logger made per stream)', () => {
    for (const debug of [undefined, '']) {
      const components = quietLibp2pLogger(debug)
      const log = components.forComponent('libp2p:yamux')
      assert.equal(log.enabled, false)
      assert.equal(log.newScope('inbound:7'), log, 'a stream\'s scope is the same logger')
      assert.equal(components.forComponent('libp2p:tcp'), log)
      log('%s', 'nothing'); log.error('nothing'); log.trace('nothing')
    }
  })

  it('DEBUG set: libp2p\'s own loggers, one per scope', () => {
    const log = quietLibp2pLogger('libp2p:*').forComponent('libp2p:yamux')
    const scoped = log.newScope('inbound:7')
    assert.notEqual(scoped, log)
    assert.equal(typeof scoped.error, 'function')
  })
})
