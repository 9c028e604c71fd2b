import assert from 'node:assert/strict'
import { it } from 'node:test'
import type { MultiaddrConnection } from '@libp2p/interface'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { pendingConnectionGater } from '../../src/adapters/libp2p/pending-connection-gater.ts'

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
 * two hosts hold perRelay (4) + 2 = all 6 relayed pending slots, so no honest NATed peer
 * reaches the node through the relay it did reserve on, for as long as the two keep it
 * up (a new stalled handshake every 5 s per slot). Direct peers are unaffected.
 * A fix: relays the node holds a reservation on get their own relayed bound, and stop
 * requests from any other connected peer share a small one.
 */
it('two connected strangers posing as relays do not lock every relayed peer out of the node', async () => {
  const gater = pendingConnectionGater()
  const deny = async (c: Conn): Promise<boolean> => gater.denyInboundConnection!(c) as Promise<boolean>
  const posers = [['198.51.100.9', await id()], ['198.51.100.10', await id()]]
  for (const [ip, relay] of posers) {
    for (let i = 0; i < 8; i++) await deny(conn(`/ip4/${ip}/tcp/4001/p2p/${relay}/p2p-circuit/p2p/${await id()}`))
  }
  const ourRelay = await id()
  assert.equal(await deny(conn(`/ip4/203.0.113.5/tcp/4001/p2p/${ourRelay}/p2p-circuit/p2p/${await id()}`)), false,
    'an honest peer through the relay the node reserved on is refused while two posers stall handshakes')
})
