import assert from 'node:assert/strict'
import { it } from 'node:test'
import { DEFAULT_CONFIG, parseNodeConfig } from '../src/domain/config/node-config.ts'
import { DEFAULT_RELAY_LIMITS } from '../src/adapters/libp2p/relay-gate.ts'

it('the relay gate\'s settings: defaults match the gate\'s, sizes per second parse, nonsense is refused', () => {
  assert.deepEqual(
    [DEFAULT_CONFIG.relayReservations, DEFAULT_CONFIG.relayReservationsPerSubnet, DEFAULT_CONFIG.relayStrangerRate],
    [DEFAULT_RELAY_LIMITS.reservations, DEFAULT_RELAY_LIMITS.reservationsPerSubnet, DEFAULT_RELAY_LIMITS.strangerRate])
  const parsed = parseNodeConfig({ relayReservations: 40, relayReservationsPerSubnet: 4, relayStrangerRate: '512KiB/s' })
  assert.deepEqual([parsed.relayReservations, parsed.relayReservationsPerSubnet, parsed.relayStrangerRate], [40, 4, 512 * 1024])
  for (const bad of [{ relayReservations: 0 }, { relayReservationsPerSubnet: 1.5 }, { relayStrangerRate: '1KB' }, { relayStrangerRate: 'fast' }]) {
    assert.throws(() => parseNodeConfig(bad), { name: 'ConfigError' }, JSON.stringify(bad))
  }
})
