import assert from 'node:assert/strict'
import { createServer, type Server, type Socket } from 'node:net'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p } from '@libp2p/interface'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { Libp2pFederationClient } from '../src/adapters/libp2p/libp2p-federation-client.ts'
import { RETRIEVE_PROTOCOL, STORE_PROTOCOL } from '../src/adapters/libp2p/wire/constants.ts'
import { loadProofArtefacts } from '../src/adapters/proof/artefacts.ts'
import { SnarkjsProver } from '../src/adapters/proof/snarkjs-prover.ts'
import { SnarkjsVerifier } from '../src/adapters/proof/snarkjs-verifier.ts'
import { ConnectionLostError, PeerTimeoutError, PeerUnreachableError } from '../src/domain/protocol/federation-errors.ts'
import { BN254_SCALAR_FIELD_ORDER } from '../src/domain/proofs/field-element.ts'
import { InvalidInputError } from '../src/errors.ts'
import type { Prover } from '../src/ports/prover.ts'
import { federationClientSuite, newChunk, newFile, storedUnder } from './conformance/federation-client.suite.ts'
import { rejectsWith } from './helpers/rejects-with.ts'
import { MemoryFederation } from './helpers/memory-federation.ts'
import { introduce, NO_PROOF_COOLDOWN, startClientHost, startStorageNode, type TestStorageNode } from './helpers/storage-node.ts'
import { tempDir } from './helpers/temp-dir.ts'

// Proving machinery is stateless across tests and slow to build: one per file.
let prover: SnarkjsProver
let verifier: SnarkjsVerifier
before(async () => {
  const artefacts = await loadProofArtefacts()
  prover = await SnarkjsProver.create({ artefacts })
  verifier = await SnarkjsVerifier.create({ verificationKey: artefacts.verificationKey })
})
after(async () => {
  await prover.close()
  await verifier.close()
})

/** Real proofs for the wrong context: what a relayed or re-targeted proof looks like to the node. */
function forgingProver (honest: Prover): Prover {
  return {
    prove: async (input, options) => honest.prove({ ...input, context: (input.context + 1n) % BN254_SCALAR_FIELD_ORDER }, options),
    close: async () => {}
  }
}

async function absentPeerId (): Promise<string> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
}

federationClientSuite('MemoryFederation', {
  async setup () {
    const federation = new MemoryFederation()
    for (const peer of ['p1', 'p2']) federation.addPeer(peer)
    return {
      client: federation,
      peers: ['p1', 'p2'],
      absentPeer: 'p-absent',
      disconnect: async (peerId) => { federation.reachable.delete(peerId) },
      teardown: async () => {}
    }
  }
})

federationClientSuite('Libp2pFederationClient over storage nodes on 127.0.0.1', {
  async setup () {
    const dir = await tempDir()
    const nodes: TestStorageNode[] = []
    const stopped = new Set<TestStorageNode>()
    // the forger fails proof after proof from one id: the suite pins the errors, not the cooldown
    for (let i = 0; i < 2; i++) nodes.push(await startStorageNode({ dir: join(dir.path, `n${i}`), verifier, proofAdmission: NO_PROOF_COOLDOWN }))
    const host = await startClientHost()
    for (const node of nodes) await introduce(host, node)
    const peers = nodes.map((n) => n.host.peerId.toString())
    const candidates = async () => peers.map((peerId) => ({ peerId, freeBytes: 1e9, reachable: true }))
    const stop = async (node: TestStorageNode) => {
      if (stopped.has(node)) return
      stopped.add(node)
      await node.stop()
    }
    return {
      client: new Libp2pFederationClient({ host, prover, candidates, dialTimeoutMs: 5_000 }),
      forger: new Libp2pFederationClient({ host, prover: forgingProver(prover), candidates }),
      peers,
      absentPeer: await absentPeerId(),
      disconnect: async (peerId) => stop(nodes.find((n) => n.host.peerId.toString() === peerId)!),
      teardown: async () => {
        await host.stop()
        for (const node of nodes) await stop(node)
        await dir.cleanup()
      }
    }
  }
})

describe('Libp2pFederationClient at the network edge', () => {
  let host: Libp2p
  let rogue: Libp2p
  const candidates = async () => []

  before(async () => {
    host = await startClientHost()
    rogue = await startClientHost()
    await host.peerStore.merge(rogue.peerId, { multiaddrs: rogue.getMultiaddrs() })
  })
  after(async () => {
    await host.stop()
    await rogue.stop()
  })

  it('a string that is not a peer id is InvalidInputError', async () => {
    const client = new Libp2pFederationClient({ host, prover, candidates })
    await rejectsWith(client.openStore('not a peer id'), InvalidInputError)
    await rejectsWith(client.openSession('12D3KooWnope', { action: 'read', secret: newFile().secret }), InvalidInputError)
  })

  it('a node that does not speak the protocol is PeerUnreachableError, with the libp2p error as cause', async () => {
    const client = new Libp2pFederationClient({ host, prover, candidates })
    const err = await client.openStore(rogue.peerId.toString()).catch((e: unknown) => e)
    assert.ok(err instanceof PeerUnreachableError)
    assert.ok((err as Error).cause instanceof Error, 'the original error is kept')
    assert.notEqual(((err as Error).cause as Error).name, 'PeerUnreachableError')
  })

  it('a dial that hangs is PeerUnreachableError after the dial timeout', async () => {
    // a TCP port that accepts and then says nothing: no handshake ever completes
    const sockets: Socket[] = []
    const silent: Server = createServer((socket) => { sockets.push(socket) })
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const port = (silent.address() as { port: number }).port
    const peerId = await absentPeerId()
    try {
      await host.peerStore.merge(peerIdFromString(peerId), { multiaddrs: [multiaddr(`/ip4/127.0.0.1/tcp/${port}`)] })
      const client = new Libp2pFederationClient({ host, prover, candidates, dialTimeoutMs: 300 })
      const started = Date.now()
      await rejectsWith(client.openStore(peerId), PeerUnreachableError)
      assert.ok(Date.now() - started < 10_000, 'the dial timeout bounded the wait')
    } finally {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => silent.close(resolve))
    }
  })

  it('a node that accepts the stream and goes silent is PeerTimeoutError', async () => {
    await rogue.handle(RETRIEVE_PROTOCOL, () => {}) // reads nothing, answers nothing
    try {
      const client = new Libp2pFederationClient({ host, prover, candidates, idleTimeoutMs: 300 })
      await rejectsWith(client.openSession(rogue.peerId.toString(), { action: 'read', secret: newFile().secret }), PeerTimeoutError)
    } finally {
      await rogue.unhandle(RETRIEVE_PROTOCOL)
    }
  })

  it('a stream reset in the middle of a request is ConnectionLostError, with the libp2p error as cause', async () => {
    await rogue.handle(STORE_PROTOCOL, (stream) => {
      stream.addEventListener('message', () => stream.abort(new Error('rogue resets')), { once: true })
    })
    try {
      const client = new Libp2pFederationClient({ host, prover, candidates })
      const channel = await client.openStore(rogue.peerId.toString())
      const err = await channel.store({ ...newChunk(), ...storedUnder(newFile()) }).catch((e: unknown) => e)
      assert.ok(err instanceof ConnectionLostError, String(err))
      assert.ok((err as Error).cause instanceof Error)
      await channel.close()
    } finally {
      await rogue.unhandle(STORE_PROTOCOL)
    }
  })

  it('a node that closes the stream with a request outstanding is ConnectionLostError', async () => {
    await rogue.handle(STORE_PROTOCOL, (stream) => {
      stream.addEventListener('message', () => { void stream.close() }, { once: true })
    })
    try {
      const client = new Libp2pFederationClient({ host, prover, candidates })
      const channel = await client.openStore(rogue.peerId.toString())
      await rejectsWith(channel.store({ ...newChunk(), ...storedUnder(newFile()) }), ConnectionLostError)
      await channel.close()
    } finally {
      await rogue.unhandle(STORE_PROTOCOL)
    }
  })
})
