import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { Libp2p } from '@libp2p/interface'
import type { FederationHost } from '../src/adapters/libp2p/membership.ts'
import type { GatedRelay } from '../src/adapters/libp2p/relay-gate.ts'
import { gatedRelay, relayClient } from './helpers/relay-gate-fixtures.ts'
import { waitFor } from './helpers/wait-for.ts'

/**
 * libp2p's relay keeps a reservation for its whole TTL (2 h) after its holder hung up,
 * and the gate counted it: strangers from a few networks could reserve every slot, drop
 * their connections, and keep the relay full for honest strangers for two hours at the
 * cost of one handshake per slot. The relay cannot reach a departed holder anyway, so
 * its reservation must not count. 127.0.0.x is loopback: nothing leaves the machine.
 */
describe('a relay does not count reservations whose holders hung up', () => {
  let relay: FederationHost
  const clients: Libp2p[] = []
  const gate = (): GatedRelay['gate'] => relay.services.relay!.gate
  const reserved = (host: Libp2p): boolean => [...relay.services.relay!.reservations.keys()].some((p) => p.equals(host.peerId))

  before(async () => {
    relay = await gatedRelay({ relayReservations: 3, relayReservationsPerSubnet: 2, isKnownPeer: () => false })
  })
  after(async () => {
    for (const client of clients) await Promise.resolve(client.stop()).catch(() => {})
    await relay.stop()
  })

  const client = async (localAddress: string): Promise<Libp2p> => relayClient(relay, localAddress, clients)

  async function decided (host: Libp2p): Promise<boolean> {
    await waitFor(() => reserved(host) || gate().refused.has(host.peerId.toString()), { what: `a decision on ${host.peerId}'s reservation`, timeoutMs: 40_000 })
    return reserved(host)
  }

  it('strangers that reserve every slot and hang up leave the slots to the next stranger', { timeout: 180_000 }, async () => {
    const squatters = [await client('127.0.0.3'), await client('127.0.0.3'), await client('127.0.0.4')]
    for (const host of squatters) assert.equal(await decided(host), true)
    assert.equal(relay.services.relay!.reservations.size, 3, 'the relay is full')
    for (const host of squatters) await host.stop()
    await waitFor(() => squatters.every((host) => relay.getConnections(host.peerId).length === 0), { what: 'the squatters\' connections to end on the relay', timeoutMs: 20_000 })
    const honest = await client('127.0.0.5')
    assert.equal(await decided(honest), true, 'an honest stranger is refused by reservations nobody can use')
    // the departed network's slots are free again too: its next id is not refused for them
    assert.equal(await decided(await client('127.0.0.3')), true)
  })
})
