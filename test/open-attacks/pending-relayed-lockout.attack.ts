import assert from 'node:assert/strict'
import { it } from 'node:test'
import type { MultiaddrConnection } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { pendingConnectionGater } from '../../src/adapters/libp2p/pending-connection-gater.ts'

const RELAY = '12D3KooWLRPJAA5o6J7tSWvkqdtTBfiGh1QWLfU3mXRQTkZ7BFmb'
const PEERS = ['12D3KooWHFrmLWTTDD4NodngtRMEVYgxrsDMp4F4KUBF4iH4vdoW', '12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN', '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo']

it('two stalled relayed handshakes do not lock every other peer of that relay out', async () => {
  const gater = pendingConnectionGater()
  const conn = (peer: string): MultiaddrConnection => Object.assign(new EventTarget(), {
    remoteAddr: multiaddr(`/ip4/203.0.113.5/tcp/4001/p2p/${RELAY}/p2p-circuit/p2p/${peer}`)
  }) as unknown as MultiaddrConnection
  assert.equal(await gater.denyInboundConnection!(conn(PEERS[0]!)), false)
  assert.equal(await gater.denyInboundConnection!(conn(PEERS[1]!)), false)
  assert.equal(await gater.denyInboundConnection!(conn(PEERS[2]!)), false, 'an honest relayed peer is refused while the attacker stalls two handshakes')
})
