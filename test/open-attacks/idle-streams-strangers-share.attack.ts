import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p, PeerId, PrivateKey, Stream } from '@libp2p/interface'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { StoreClient } from '../../src/adapters/libp2p/protocols/store-client.ts'
import { STORE_PROTOCOL } from '../../src/adapters/libp2p/wire/constants.ts'
import { chunkIdOf } from '../../src/domain/formats/chunk-id.ts'
import { commitmentToDecimal, poseidonCommitment } from '../../src/domain/proofs/poseidon-commitment.ts'
import { startBudgetedNodeProcess, type BudgetedNodeProcess } from '../helpers/budgeted-node-process.ts'

const MIB = 2 ** 20

/**
 * Each inbound stream now reserves its 1 MiB yamux window from the start, before its
 * peer sends a byte. Streams that send nothing therefore cost the strangers' share as
 * much as partial frames did, for nothing: an idle stream lives 20 s (the idle timeout)
 * and is opened again for one round trip. With the defaults, a subnet's strangers may
 * hold 64 MiB and all strangers' streams of one protocol 96 MiB (its 192 MiB times the
 * strangers' share), so two subnets (here two loopback addresses, each a "subnet" of its
 * own) of idle store streams refuse every other stranger's store BUSY: an honest
 * newcomer cannot store any of its allowance. Known peers keep their half.
 * Before, the same needed 1 MiB sent per stream per ~94 s (a partial frame at 16 KiB/s).
 */
let node: BudgetedNodeProcess
let target: PeerId
let trustedKey: PrivateKey
const held: Stream[] = []
before(async () => {
  trustedKey = await generateKeyPair('Ed25519')
  node = await startBudgetedNodeProcess({ known: [peerIdFromPrivateKey(trustedKey).toString()], budgets: {} })
  target = peerIdFromString(node.peerId)
})
after(async () => {
  for (const stream of held) stream.abort(new Error('done'))
  await node.stop()
})

async function stores (host: Libp2p): Promise<boolean> {
  const data = randomBytes(4096)
  const commitment = commitmentToDecimal(poseidonCommitment(4242n))
  const store = await StoreClient.open(host, target)
  try {
    await store.store({ chunkId: chunkIdOf(data), data, commitment, deleteCommitment: commitment })
    return true
  } catch {
    return false
  } finally {
    await store.close().catch(() => {})
  }
}

it('idle streams of strangers from two subnets leave an honest stranger room to store', { timeout: 120_000 }, async () => {
  for (const address of ['127.0.0.3', '127.0.0.4']) {
    for (let id = 0; id < 2; id++) {
      const host = await node.client(undefined, address)
      await Promise.all(Array.from({ length: 40 }, async () => {
        // opened and left idle: not a byte sent
        try { held.push(await host.dialProtocol(target, STORE_PROTOCOL)) } catch { /* refused */ }
      }))
    }
  }
  const usage = await node.usage()
  assert.ok(usage.strangers.memory >= 90 * MIB, `idle streams hold ${usage.strangers.memory} B of the strangers' share`)
  assert.equal(await stores(await node.client(trustedKey, '127.0.0.5')), true, 'a trusted peer keeps its room')
  assert.equal(await stores(await node.client(undefined, '127.0.0.5')), true,
    `an honest stranger on a third subnet is refused while ${held.length} idle streams of other strangers hold ${Math.round(usage.strangers.memory / MIB)} MiB`)
})
