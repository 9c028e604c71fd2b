import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p, PeerId, PrivateKey, Stream } from '@libp2p/interface'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { StoreClient } from '../src/adapters/libp2p/protocols/store-client.ts'
import { STORE_PROTOCOL, STREAM_WINDOW_BYTES } from '../src/adapters/libp2p/wire/constants.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { commitmentToDecimal, poseidonCommitment } from '../src/domain/proofs/poseidon-commitment.ts'
import { startBudgetedNodeProcess, type BudgetedNodeProcess } from './helpers/budgeted-node-process.ts'

const MIB = 2 ** 20

/**
 * An inbound stream used to reserve yamux's largest window (1 MiB) from the start,
 * before its peer sent a byte, so streams that sent nothing cost the strangers' share as
 * much as partial frames did, for nothing (an idle stream lives 20 s and is opened again
 * for one round trip): with the defaults (a subnet's strangers 64 MiB and 128 streams,
 * all strangers' store streams 96 MiB and 192) two subnets of idle store streams (here
 * two loopback addresses, each a "subnet" of its own) refused every other stranger's
 * store BUSY. Defence: a stream reserves what yamux has granted (256 KiB at first; more
 * only before it grants more: paced-reader.ts), and the strangers of one subnet hold at
 * most a quarter of a protocol's strangers' streams (resource-budget.ts), so two
 * subnets hold half of them and an honest stranger on a third still stores.
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
    for (let id = 0; id < 4; id++) {
      const host = await node.client(undefined, address)
      // 32 a connection (libp2p's inbound cap per protocol): 128 a subnet, as many as its strangers may open in all
      await Promise.all(Array.from({ length: 32 }, async () => {
        // opened and left idle: not a byte sent
        try { held.push(await host.dialProtocol(target, STORE_PROTOCOL)) } catch { /* refused */ }
      }))
    }
  }
  const usage = await node.usage()
  if (process.env.IDLE_SAY === '1') console.log(`${held.length} idle streams hold ${(usage.strangers.memory / MIB).toFixed(1)} MiB and ${usage.strangers.streams} streams of the strangers' share`)
  // a subnet's strangers hold a quarter of the store protocol's strangers' streams (48 of 192): two subnets half
  assert.ok(usage.strangers.streams >= 90 && usage.strangers.streams <= 96, `the attack holds ${usage.strangers.streams} idle streams`)
  // what yamux granted each (256 KiB), not its largest window (1 MiB)
  assert.ok(usage.strangers.memory <= usage.strangers.streams * STREAM_WINDOW_BYTES / 4 + MIB, `${usage.strangers.streams} idle streams hold ${usage.strangers.memory} B of the strangers' share`)
  assert.equal(await stores(await node.client(trustedKey, '127.0.0.5')), true, 'a trusted peer keeps its room')
  assert.equal(await stores(await node.client(undefined, '127.0.0.5')), true,
    `an honest stranger on a third subnet is refused while ${held.length} idle streams of other strangers hold ${Math.round(usage.strangers.memory / MIB)} MiB`)
})
