import assert from 'node:assert/strict'
import { it } from 'node:test'
import type { MultiaddrConnection } from '@libp2p/interface'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { DEFAULT_PENDING_HANDSHAKES, pendingConnectionGater } from '../src/adapters/libp2p/pending-connection-gater.ts'

type Conn = MultiaddrConnection & { close: () => void }
function conn (address: string): Conn {
  const target = new EventTarget()
  return Object.assign(target, { remoteAddr: multiaddr(address), close: () => target.dispatchEvent(new Event('close')) }) as unknown as Conn
}
const id = async (): Promise<string> => peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()

/**
 * Any peer connected to the node may send circuit stop requests (libp2p's relay
 * transport accepts them from a relay it holds no reservation on, and starts listening
 * there), each naming a fresh id, and never finish the handshake. Two such "relays" on
 * two hosts held perRelay (4) + 2 = all 6 relayed pending slots, so no honest NATed peer
 * reached the node through the relay it did reserve on, for as long as the two kept it
 * up (a new stalled handshake every 5 s per slot). Peers we hold no reservation on now
 * share `unreservedRelayed` slots; a relay we did reserve on keeps its `perRelay`.
 */
it('two connected strangers posing as relays do not lock every relayed peer out of the node', async () => {
  const ourRelay = await id()
  const gater = pendingConnectionGater({}, { isReservedRelay: (relay) => relay === ourRelay })
  const deny = async (c: Conn): Promise<boolean> => gater.denyInboundConnection!(c) as Promise<boolean>
  const posers = [['198.51.100.9', await id()], ['198.51.100.10', await id()]]
  let held = 0
  for (const [ip, relay] of posers) {
    for (let i = 0; i < 8; i++) if (!await deny(conn(`/ip4/${ip}/tcp/4001/p2p/${relay}/p2p-circuit/p2p/${await id()}`))) held++
  }
  assert.equal(held, DEFAULT_PENDING_HANDSHAKES.unreservedRelayed, 'peers we hold no reservation on share their slots')
  const through = async (): Promise<boolean> => deny(conn(`/ip4/203.0.113.5/tcp/4001/p2p/${ourRelay}/p2p-circuit/p2p/${await id()}`))
  assert.equal(await through(), false, 'an honest peer through the relay the node reserved on is refused while two posers stall handshakes')
  // that relay keeps its own bound, within the relayed one
  let ours = 1
  for (let i = 0; i < 8; i++) if (!await through()) ours++
  assert.equal(ours, DEFAULT_PENDING_HANDSHAKES.perRelay)
})

it('without a way to tell reserved relays, every relay counts as one (the bounds above still hold)', async () => {
  const gater = pendingConnectionGater()
  let admitted = 0
  for (let i = 0; i < 8; i++) if (!await (gater.denyInboundConnection!(conn(`/ip4/198.51.100.9/tcp/4001/p2p/${await id()}/p2p-circuit/p2p/${await id()}`)) as Promise<boolean>)) admitted++
  assert.equal(admitted, DEFAULT_PENDING_HANDSHAKES.perRelay)
})
