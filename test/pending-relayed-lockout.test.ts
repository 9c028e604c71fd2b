import assert from 'node:assert/strict'
import { it } from 'node:test'
import type { MultiaddrConnection } from '@libp2p/interface'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { DEFAULT_PENDING_HANDSHAKES, pendingConnectionGater } from '../src/adapters/libp2p/pending-connection-gater.ts'

const RELAY = '12D3KooWLRPJAA5o6J7tSWvkqdtTBfiGh1QWLfU3mXRQTkZ7BFmb'
const OTHER_RELAY = '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo'
const PEERS = ['12D3KooWHFrmLWTTDD4NodngtRMEVYgxrsDMp4F4KUBF4iH4vdoW', '12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN', '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo']

type Conn = MultiaddrConnection & { close: () => void }
function conn (address: string): Conn {
  const target = new EventTarget()
  return Object.assign(target, { remoteAddr: multiaddr(address), close: () => target.dispatchEvent(new Event('close')) }) as unknown as Conn
}
const relayed = (peer: string, relayIp = '203.0.113.5', relay = RELAY): Conn => conn(`/ip4/${relayIp}/tcp/4001/p2p/${relay}/p2p-circuit/p2p/${peer}`)

/** Peer ids of the attacker's: fresh ids cost nothing. */
const SYBILS = await Promise.all(Array.from({ length: 250 }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()))
const freshId = (i: number): string => SYBILS[i]!

it('two stalled relayed handshakes do not lock every other peer of that relay out', async () => {
  const gater = pendingConnectionGater()
  assert.equal(await gater.denyInboundConnection!(relayed(PEERS[0]!)), false)
  assert.equal(await gater.denyInboundConnection!(relayed(PEERS[1]!)), false)
  assert.equal(await gater.denyInboundConnection!(relayed(PEERS[2]!)), false, 'an honest relayed peer is refused while the attacker stalls two handshakes')
})

it('one stalled id holds one slot of each relay it comes through', async () => {
  const gater = pendingConnectionGater()
  const deny = async (c: Conn): Promise<boolean> => gater.denyInboundConnection!(c) as Promise<boolean>
  const first = relayed(PEERS[0]!)
  assert.equal(await deny(first), false)
  for (let i = 0; i < 10; i++) assert.equal(await deny(relayed(PEERS[0]!)), true, 'a second handshake of the same id waits for its first')
  // what the far end claims is per relay: another relay's slot for the id is its own (below)
  assert.equal(await deny(relayed(PEERS[0]!, '198.51.100.9', OTHER_RELAY)), false, 'another relay has a slot of its own for the id')
  assert.equal(await deny(relayed(PEERS[1]!)), false, 'the relay\'s other peers get in')
  first.close()
  assert.equal(await deny(relayed(PEERS[0]!)), false, 'the slot comes back when the handshake ends')
})

it('many fresh ids through one relay are bounded, and leave the node room for everyone else', async () => {
  const gater = pendingConnectionGater()
  const deny = async (c: Conn): Promise<boolean> => gater.denyInboundConnection!(c) as Promise<boolean>
  const held: Conn[] = []
  let admitted = 0
  for (let i = 0; i < 50; i++) {
    const c = relayed(freshId(i))
    if (!await deny(c)) { admitted++; held.push(c) }
  }
  assert.equal(admitted, DEFAULT_PENDING_HANDSHAKES.perRelay, 'one relay\'s ids together get perRelay slots')
  // a second relay (its own host) adds its share, up to the relayed bound in all
  for (let i = 0; i < 50; i++) if (!await deny(relayed(freshId(100 + i), '198.51.100.9', OTHER_RELAY))) admitted++
  assert.equal(admitted, DEFAULT_PENDING_HANDSHAKES.relayed)
  for (let i = 0; i < 50; i++) assert.equal(await deny(relayed(freshId(200 + i), `192.0.2.${1 + i}`, OTHER_RELAY)), true, 'relays together stay within the relayed bound')
  // libp2p has ten pending slots: relays hold at most `relayed`, direct hosts still get in
  assert.ok(DEFAULT_PENDING_HANDSHAKES.relayed < 10)
  assert.equal(await deny(conn('/ip4/198.51.100.20/tcp/4001')), false, 'a direct newcomer is not locked out by the relays')
  assert.equal(await deny(conn('/ip4/198.51.100.20/tcp/4002')), false)
  assert.equal(await deny(conn('/ip4/198.51.100.20/tcp/4003')), true, 'and a direct host keeps its own bound')
  for (const c of held) c.close()
  assert.equal(await deny(relayed(PEERS[2]!)), false, 'once the stalled handshakes end, the relay\'s peers get in again')
})

it('a relay naming an honest peer id in its stop requests does not lock that peer out of its own relay', async () => {
  const gater = pendingConnectionGater()
  const deny = async (c: Conn): Promise<boolean> => gater.denyInboundConnection!(c) as Promise<boolean>
  // any peer connected to us may send circuit stop requests, and names the far end as it likes
  assert.equal(await deny(relayed(PEERS[0]!, '198.51.100.66', OTHER_RELAY)), false)
  for (let i = 0; i < 3; i++) await deny(relayed(PEERS[0]!, '198.51.100.66', OTHER_RELAY))
  assert.equal(await deny(relayed(PEERS[0]!)), false, 'the honest peer, through the relay it reserved on, is refused while a liar stalls its id')
})

it('half-open sockets from many hosts of one subnet hold a bounded part of the pending slots, IPv4 /24 or IPv6 /48', async () => {
  const gater = pendingConnectionGater()
  const deny = async (c: Conn): Promise<boolean> => gater.denyInboundConnection!(c) as Promise<boolean>
  // five addresses of a /24 (a /29 rents for little), or five /64s of one home's IPv6 /56,
  // two handshakes each, would hold all ten of libp2p's pending slots
  for (const host of [(i: number) => `/ip4/198.51.100.${i + 1}/tcp/4001`, (i: number) => `/ip6/2001:db8:5:${i.toString(16)}::1/tcp/4001`]) {
    let admitted = 0
    for (let i = 0; i < 50; i++) for (let j = 0; j < 2; j++) if (!await deny(conn(host(i)))) admitted++
    assert.ok(admitted <= DEFAULT_PENDING_HANDSHAKES.perSubnet && DEFAULT_PENDING_HANDSHAKES.perSubnet < 10, `one subnet holds ${admitted} pending handshakes`)
  }
  assert.equal(await deny(conn('/ip4/203.0.113.77/tcp/4001')), false, 'a newcomer of another subnet gets in')
  assert.equal(await deny(conn('/ip4/10.0.0.1/tcp/4001')), false, 'private addresses form no subnet: only their host bound applies')
  assert.equal(await deny(conn('/ip4/10.0.0.2/tcp/4001')), false)
})
