import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import { dialBudgetGater } from '../src/adapters/libp2p/dial-budget-gater.ts'
import { parseNodeConfig } from '../src/domain/config/node-config.ts'
import { ConfigError } from '../src/errors.ts'

const PUBLIC = (i: number): ReturnType<typeof multiaddr> => multiaddr(`/ip4/11.0.${Math.floor(i / 250)}.${(i % 250) + 1}/tcp/4101`)

/**
 * The node's own new connections through a home router: a put to many holders or a DHT
 * walk takes one of `newDialsPerMinute` per address dialled, and is refused beyond it.
 */
describe('dial budget: the router sees at most newDialsPerMinute new connections from the node', () => {
  it('attack: a burst of dials to 1,000 fresh addresses (a DHT walk, a poisoned peer book) gets the minute\'s allowance, then is refused until it refills', () => {
    let now = 0
    const gater = dialBudgetGater({ newDialsPerMinute: 120, now: () => now })
    const allowed = Array.from({ length: 1000 }, (_, i) => gater.denyDialMultiaddr!(PUBLIC(i)) === false).filter(Boolean).length
    assert.equal(allowed, 120)
    assert.equal(gater.refused(), 880)
    now += 30_000
    const later = Array.from({ length: 100 }, (_, i) => gater.denyDialMultiaddr!(PUBLIC(i)) === false).filter(Boolean).length
    assert.equal(later, 60, 'half a minute gives half the allowance back')
  })

  it('dials that never reach the router are not counted: loopback, link-local, and relayed ones (a stream on an open connection)', () => {
    const gater = dialBudgetGater({ newDialsPerMinute: 1, now: () => 0 })
    for (let i = 0; i < 50; i++) {
      assert.equal(gater.denyDialMultiaddr!(multiaddr('/ip4/127.0.0.1/tcp/4101')), false)
      assert.equal(gater.denyDialMultiaddr!(multiaddr('/ip6/::1/tcp/4101')), false)
      assert.equal(gater.denyDialMultiaddr!(multiaddr('/ip6/fe80::1/tcp/4101')), false)
      assert.equal(gater.denyDialMultiaddr!(multiaddr('/ip4/11.0.0.11/tcp/4101/p2p/12D3KooWR4SatYFAesHY9KUeh5522epBKCW296XU12Bc6wABbBy9/p2p-circuit/p2p/12D3KooWEw1Ers7NWZ3gpHW4HVzx82VcoYoLdMoDKWwvFqjtywew')), false)
    }
    assert.equal(gater.denyDialMultiaddr!(PUBLIC(1)), false, 'the one allowed dial is still there')
    assert.equal(gater.denyDialMultiaddr!(PUBLIC(2)), true)
  })

  it('attack: fresh identities that use up the minute\'s dials (announced, so the node probes them) leave the dials to known peers open', () => {
    const friend = '12D3KooWEw1Ers7NWZ3gpHW4HVzx82VcoYoLdMoDKWwvFqjtywew'
    const gater = dialBudgetGater({ newDialsPerMinute: 10, isKnownPeer: (peer) => peer === friend, now: () => 0 })
    for (let i = 0; i < 100; i++) gater.denyDialMultiaddr!(multiaddr(`${PUBLIC(i).toString()}/p2p/12D3KooWR4SatYFAesHY9KUeh5522epBKCW296XU12Bc6wABbBy9`))
    assert.equal(gater.refused(), 90)
    assert.equal(gater.denyDialMultiaddr!(multiaddr(`/ip4/11.0.9.9/tcp/4101/p2p/${friend}`)), false, 'a known peer is still dialled')
    assert.equal(gater.denyDialMultiaddr!(PUBLIC(200)), true, 'an address naming no peer is counted as a stranger\'s')
  })

  it('is a config key: 120 by default, a positive whole number', () => {
    assert.equal(parseNodeConfig({}, 'test').newDialsPerMinute, 120)
    assert.equal(parseNodeConfig({ newDialsPerMinute: 30 }, 'test').newDialsPerMinute, 30)
    for (const bad of [0, -1, 1.5, '60']) assert.throws(() => parseNodeConfig({ newDialsPerMinute: bad }, 'test'), ConfigError)
  })
})
