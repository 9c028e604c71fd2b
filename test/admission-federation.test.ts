import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Libp2p } from '@libp2p/interface'
import { StoreClient } from '../src/adapters/libp2p/protocols/store-client.ts'
import type { Admission } from '../src/assembly/admission.ts'
import type { StandaloneStorageNode } from '../src/assembly/standalone-storage-node.ts'
import { startAdmittedStorageNode } from './helpers/admitted-storage-node.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { commitmentToDecimal, poseidonCommitment } from '../src/domain/proofs/poseidon-commitment.ts'
import { QuotaExceededError } from '../src/domain/protocol/federation-errors.ts'
import { startClientHost } from './helpers/storage-node.ts'
import { tempDir } from './helpers/temp-dir.ts'
import { recordCharge } from '../src/domain/protocol/record-charge.ts'

// the measured attack (a 150 MB node, capacity/4 per peer, 48 fresh ids) scaled down by 100,
// in whole record charges (record-charge.ts: a 12,288-byte chunk is charged 12,800 bytes)
const CHUNK = 12_288
const CHARGE = recordCharge(CHUNK)
const CAPACITY = 120 * CHARGE
const NEWCOMER = 8 * CHARGE

/** Stores fresh chunks from `client` until the node refuses one; resolves to the bytes stored and the refusal. */
async function fill (client: Libp2p, node: StandaloneStorageNode, most = 200): Promise<{ stored: number, refusal?: unknown }> {
  await client.peerStore.merge(node.host.peerId, { multiaddrs: node.host.getMultiaddrs() })
  const store = await StoreClient.open(client, node.host.peerId)
  const c = commitmentToDecimal(poseidonCommitment(BigInt('0x' + randomBytes(16).toString('hex'))))
  let stored = 0
  try {
    for (let i = 0; i < most; i++) {
      const data = randomBytes(CHUNK)
      await store.store({ chunkId: chunkIdOf(data), data, commitment: c, deleteCommitment: c })
      stored += CHARGE
    }
    return { stored }
  } catch (refusal) {
    return { stored, refusal }
  } finally {
    await store.close()
  }
}

describe('admission over the store protocol (127.0.0.1)', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  let admission: Admission
  let node: StandaloneStorageNode
  let stop: (() => Promise<void>) | undefined

  before(async () => {
    dir = await tempDir('quloud-admission-')
    ;({ admission, node, stop } = await startAdmittedStorageNode(dir.path, { capacity: CAPACITY, newcomerAllowance: NEWCOMER }))
  })
  after(async () => {
    await stop?.()
    await dir.cleanup()
  })

  it('48 fresh ids fill only the strangers\' half; a trusted and a reciprocal peer then store their allowances', async () => {
    const trusted = await startClientHost()
    const reciprocal = await startClientHost()
    try {
      await admission.trust.add({ peerId: trusted.peerId.toString(), quota: 24 * CHARGE, name: 'alice' })
      // this node's owner side holds receipts for 12 charges' worth on the reciprocal peer
      await admission.receipts.stored(reciprocal.peerId.toString(), chunkIdOf(randomBytes(8)), '1', 12 * CHARGE)

      let strangers = 0
      for (let i = 0; i < 48; i++) {
        const sybil = await startClientHost()
        try {
          const { stored, refusal } = await fill(sybil, node)
          assert.ok(refusal instanceof QuotaExceededError, `sybil ${i}: ${(refusal as Error)?.name}`)
          strangers += stored
        } finally {
          await sybil.stop()
        }
        // libp2p refuses more than 5 new connections a second from one address
        await sleep(250)
      }
      // the strangers' half is of the disk; each peer is charged whole blocks per record
      const disk = await node.side.chunkStore.usedBytes()
      assert.ok(disk <= CAPACITY / 2 && strangers >= CAPACITY / 2, `the strangers took their half and no more (${disk} bytes of disk, ${strangers} charged)`)

      const t = await fill(trusted, node)
      assert.equal(t.stored, 24 * CHARGE)
      assert.ok(t.refusal instanceof QuotaExceededError)
      const r = await fill(reciprocal, node)
      assert.equal(r.stored, 12 * CHARGE + NEWCOMER)
      assert.ok(r.refusal instanceof QuotaExceededError)
      assert.ok(await node.side.chunkStore.usedBytes() <= CAPACITY)
    } finally {
      await trusted.stop()
      await reciprocal.stop()
    }
  })
})
