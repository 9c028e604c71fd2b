import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { formatSize, parseSize } from '../src/domain/config/size.ts'
import { parseNodeConfig } from '../src/domain/config/node-config.ts'

describe('parseSize', () => {
  it('accepts bytes, decimal and binary units', () => {
    assert.equal(parseSize('1048576'), 1048576)
    assert.equal(parseSize('500GB'), 500e9)
    assert.equal(parseSize('2TiB'), 2 * 2 ** 40)
    assert.equal(parseSize('1.5 kb'), 1500)
    assert.equal(parseSize('0'), 0)
  })
  it('rejects garbage with InvalidInputError', () => {
    for (const bad of ['', 'GB', '-1', '1.5', '0.5B', '12 parsecs', '1e3', '99999999999PB']) {
      assert.throws(() => parseSize(bad), { name: 'InvalidInputError' }, bad)
    }
  })
  it('formats for people', () => {
    assert.equal(formatSize(512), '512 B')
    assert.equal(formatSize(10 * 2 ** 30), '10.0 GiB')
  })
})

describe('parseNodeConfig', () => {
  it('fills defaults and validates', () => {
    assert.equal(parseNodeConfig({}).api, '127.0.0.1:4102')
    assert.equal(parseNodeConfig({ capacity: '1GiB' }).capacity, 2 ** 30)
  })
  it('rejects unknown keys, bad multiaddrs, non-loopback API addresses', () => {
    assert.throws(() => parseNodeConfig({ nope: 1 }), { name: 'ConfigError' })
    assert.throws(() => parseNodeConfig({ listen: ['not an addr'] }), { name: 'ConfigError' })
    assert.throws(() => parseNodeConfig({ api: '0.0.0.0:80' }), { name: 'ConfigError' })
    assert.throws(() => parseNodeConfig([]), { name: 'ConfigError' })
  })
})
