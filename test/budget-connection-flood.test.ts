import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { ConnectionBudgetInit } from '../src/adapters/libp2p/pending-connection-gater.ts'
import { startBareHost } from '../src/assembly/host.ts'
import { dialingFrom } from './helpers/budgeted-node-process.ts'

/**
 * Connections from strangers are budgeted once the handshake names the peer: a share
 * of the node's connections, a cap per subnet and a rate per minute. Every host dials
 * from its own loopback address (Linux routes all of 127/8 to lo: nothing leaves the
 * machine), so "another subnet" is another 127.0.0.x here.
 */
describe('budget: connection floods', () => {
  const hosts: Libp2p[] = []
  after(async () => {
    for (const host of hosts) await Promise.resolve(host.stop()).catch(() => {})
  })

  async function node (connections: Omit<ConnectionBudgetInit, 'isKnownPeer'>, known: string[] = []): Promise<Libp2p> {
    const host = await startBareHost({ connections: { ...connections, isKnownPeer: (peer) => known.includes(peer) } })
    hosts.push(host)
    return host
  }

  /** A fresh identity dialling `target` from `localAddress`; true when the node kept the connection. */
  async function connectFrom (target: Libp2p, localAddress: string, privateKey?: PrivateKey): Promise<boolean> {
    const dialer = await dialingFrom(localAddress, privateKey)
    hosts.push(dialer)
    const me = dialer.peerId.toString()
    try {
      await dialer.dial(target.getMultiaddrs()[0]!, { signal: AbortSignal.timeout(10_000) })
    } catch (err) {
      if (process.env.DEBUG_FLOOD === '1') console.log('dial failed', err)
      return false
    }
    // the node decides at the end of the handshake, after the dialer's side is done:
    // wait for its connection to appear (kept) or the dialer's to close (refused)
    for (let i = 0; i < 100; i++) {
      const kept = target.getConnections().some((c) => c.remotePeer.toString() === me && c.status === 'open')
      if (kept) return true
      if (!dialer.getConnections().some((c) => c.status === 'open')) return false
      await sleep(50)
    }
    return false
  }

  async function flood (target: Libp2p, localAddress: string, tries: number): Promise<number> {
    let kept = 0
    // one after another: a host gets two handshakes in progress (pendingConnectionGater)
    for (let i = 0; i < tries; i++) if (await connectFrom(target, localAddress)) kept++
    return kept
  }

  it('many ids from one subnet are capped there; other subnets and known peers still connect; strangers get their share', { timeout: 120_000 }, async () => {
    const trustedKey = await generateKeyPair('Ed25519')
    const target = await node({ maxConnections: 20, maxConnectionsPerSubnet: 4, newConnectionsPerMinute: 10_000, strangersShare: 0.5 }, [peerIdFromPrivateKey(trustedKey).toString()])
    assert.equal(await flood(target, '127.0.0.2', 12), 4)
    assert.equal(await flood(target, '127.0.0.3', 12), 4)
    assert.ok(await connectFrom(target, '127.0.0.4'), 'an honest stranger from another address connects')
    assert.equal(await flood(target, '127.0.0.5', 4), 1) // the strangers' 10 are full
    assert.ok(await connectFrom(target, '127.0.0.5', trustedKey), 'a trusted peer connects, even from a full subnet')
  })

  it('new connections from strangers are limited per minute; a trusted peer is not', { timeout: 60_000 }, async () => {
    const trustedKey = await generateKeyPair('Ed25519')
    const target = await node({ maxConnections: 100, maxConnectionsPerSubnet: 100, newConnectionsPerMinute: 3, strangersShare: 0.5 }, [peerIdFromPrivateKey(trustedKey).toString()])
    const kept = [await connectFrom(target, '127.0.0.6'), await connectFrom(target, '127.0.0.7'), await connectFrom(target, '127.0.0.8'), await connectFrom(target, '127.0.0.9')]
    assert.deepEqual(kept, [true, true, true, false])
    assert.ok(await connectFrom(target, '127.0.0.9', trustedKey))
  })

  it('attack: one subnet reconnecting spends its own new connections, not every stranger\'s; the node-wide ceiling still holds', { timeout: 60_000 }, async () => {
    const target = await node({ maxConnections: 100, maxConnectionsPerSubnet: 100, newConnectionsPerMinute: 6, newConnectionsPerSubnetPerMinute: 3, strangersShare: 0.5 })
    // the attacker's fresh ids, one after another from one host: its subnet's 3, then refused
    assert.equal(await flood(target, '127.0.0.10', 6), 3)
    // with one allowance for all strangers, the attacker's next 3 would have spent it and this newcomer been refused
    assert.ok(await connectFrom(target, '127.0.0.11'), 'a newcomer from another subnet connects while the attacker is refused')
    // 4 of the ceiling's 6 spent: a third subnet gets the last 2, whatever its own allowance
    assert.equal(await flood(target, '127.0.0.12', 3), 2)
    assert.equal(await connectFrom(target, '127.0.0.13'), false, 'the node-wide ceiling refuses once it is spent')
  })
})
