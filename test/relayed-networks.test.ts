import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { MultiaddrConnection, PeerId } from '@libp2p/interface'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { connectionBudgetGater } from '../src/adapters/libp2p/pending-connection-gater.ts'
import { admissionNetworkOf } from '../src/domain/membership/subnet.ts'

/**
 * "A relayed peer counts under its relay's" subnet (protocol-spec/README.md, Sybils).
 * The stream budgets did; the connection budget and proof admission counted a relayed
 * peer under the relay's bare IP, so an operator running relays on the addresses of its
 * one /24 got a fresh per-network cap from each of them.
 */
const relayed = (relayIp: string, peer: string): string =>
  `/ip4/${relayIp}/tcp/4001/p2p/12D3KooWRelayRelayRelayRelayRelayRelayRelayRelayRel/p2p-circuit/p2p/${peer}`

describe('relayed peers count under the relay\'s subnet', () => {
  it('one network for every relay of a /24, apart from direct peers of it; loopback by address', () => {
    const viaFive = admissionNetworkOf(relayed('203.0.113.5', 'a'))
    assert.equal(viaFive, 'via:ip4:203.0.113')
    assert.equal(admissionNetworkOf(relayed('203.0.113.6', 'b')), viaFive)
    assert.equal(admissionNetworkOf('/ip4/203.0.113.7/tcp/4101'), 'ip4:203.0.113')
    assert.equal(admissionNetworkOf('/ip4/127.0.0.1/tcp/4101'), '/ip4/127.0.0.1')
    assert.equal(admissionNetworkOf(relayed('127.0.0.1', 'c')), '/ip4/127.0.0.1')
  })

  it('the connection budget caps strangers relayed through two relays of one /24 together', async () => {
    const gater = connectionBudgetGater({
      maxConnections: 100, maxConnectionsPerSubnet: 2, newConnectionsPerMinute: 100, strangersShare: 1, isKnownPeer: () => false
    })
    const closes: Array<() => void> = []
    const attempt = async (relayIp: string): Promise<boolean> => {
      const peer: PeerId = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
      const events = new EventTarget()
      const maConn = Object.assign(events, { remoteAddr: multiaddr(relayed(relayIp, peer.toString())) }) as unknown as MultiaddrConnection
      closes.push(() => events.dispatchEvent(new Event('close')))
      return await gater.denyInboundEncryptedConnection!(peer, maConn) === true
    }
    assert.equal(await attempt('203.0.113.5'), false)
    assert.equal(await attempt('203.0.113.5'), false)
    assert.equal(await attempt('203.0.113.6'), true, 'a second relay of the same /24 opens no fresh cap')
    assert.equal(await attempt('198.51.100.9'), false, 'a relay elsewhere is another network')
    // what closes gives its place back, once
    closes[0]!()
    closes[0]!()
    assert.equal(gater.openOfStrangers(), 2)
    assert.equal(await attempt('203.0.113.6'), false)
  })
})
