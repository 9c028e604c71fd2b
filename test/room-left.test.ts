import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { StoreClient } from '../src/adapters/libp2p/protocols/store-client.ts'
import { ReceiptLedger } from '../src/adapters/data-dir/receipt-ledger.ts'
import { StoreResponseCodec } from '../src/adapters/libp2p/wire/messages.ts'
import { recordReceipts } from '../src/app/admission/receipt-recording-federation-client.ts'
import type { Admission } from '../src/assembly/admission.ts'
import type { StandaloneStorageNode } from '../src/assembly/standalone-storage-node.ts'
import { startAdmittedStorageNode } from './helpers/admitted-storage-node.ts'
import { federationRoomLine } from '../src/cli/commands/peers.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { commitmentToDecimal, poseidonCommitment } from '../src/domain/proofs/poseidon-commitment.ts'
import { QuotaExceededError } from '../src/domain/protocol/federation-errors.ts'
import { recordCharge } from '../src/domain/protocol/record-charge.ts'
import type { FederationClient, StoredReceipt } from '../src/ports/federation-client.ts'
import { startClientHost } from './helpers/storage-node.ts'
import { tempDir } from './helpers/temp-dir.ts'

const CHUNK = 12_288
const CHARGE = recordCharge(CHUNK)
const NEWCOMER = 5 * CHARGE

describe('room left: a storage node tells each requester how much more it would take', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  let admission: Admission
  let node: StandaloneStorageNode
  let stop: (() => Promise<void>) | undefined

  before(async () => {
    dir = await tempDir('quloud-admission-')
    ;({ admission, node, stop } = await startAdmittedStorageNode(dir.path, { capacity: 100 * CHARGE, newcomerAllowance: NEWCOMER }))
  })
  after(async () => {
    await stop?.()
    await dir.cleanup()
  })

  it('with every receipt and with the refusal that ends a stranger\'s allowance', async () => {
    const client = await startClientHost()
    try {
      await client.peerStore.merge(node.host.peerId, { multiaddrs: node.host.getMultiaddrs() })
      const store = await StoreClient.open(client, node.host.peerId)
      const c = commitmentToDecimal(poseidonCommitment(BigInt('0x' + randomBytes(16).toString('hex'))))
      const said: Array<number | undefined> = []
      for (let i = 0; i < 5; i++) {
        const data = randomBytes(CHUNK)
        await store.store({ chunkId: chunkIdOf(data), data, commitment: c, deleteCommitment: c })
        said.push(store.roomLeft)
      }
      assert.deepEqual(said, [4, 3, 2, 1, 0].map((n) => n * CHARGE))
      const data = randomBytes(CHUNK)
      await assert.rejects(store.store({ chunkId: chunkIdOf(data), data, commitment: c, deleteCommitment: c }), QuotaExceededError)
      assert.equal(store.roomLeft, 0)
      await store.close()
    } finally {
      await client.stop()
    }
  })
})

describe('the owner\'s view of the room the federation still offers', () => {
  it('records what each peer said (0 on a quota refusal), keeps it across a reopen, and sums it', async () => {
    const dir = await tempDir('quloud-room-ledger-')
    try {
      let ledger = await ReceiptLedger.open(join(dir.path, 'receipts'))
      const answers: Array<StoredReceipt | Error> = [
        { peerId: 'peerA', chunkId: 'x', timeMs: 1, signature: '' },
        { peerId: 'peerB', chunkId: 'x', timeMs: 1, signature: '' },
        new QuotaExceededError('full')
      ]
      const rooms: Array<number | undefined> = [7000, undefined, 3]
      const peers = ['peerA', 'peerB', 'peerC']
      const inner = {
        openStore: async (peerId: string) => ({
          store: async () => {
            const answer = answers[peers.indexOf(peerId)]!
            if (answer instanceof Error) throw answer
            return answer
          },
          roomLeft: () => rooms[peers.indexOf(peerId)],
          close: async () => {}
        })
      } as unknown as FederationClient
      const federation = recordReceipts(inner, ledger)
      const chunk = { chunkId: chunkIdOf(randomBytes(4)), commitment: '1', deleteCommitment: '2', data: new Uint8Array(4) }
      await (await federation.openStore('peerC')).store(chunk).catch(() => {})
      for (const peer of ['peerA', 'peerB']) await (await federation.openStore(peer)).store(chunk)
      assert.equal(ledger.roomOn('peerA')?.bytes, 7000)
      assert.equal(ledger.roomOn('peerB'), undefined, 'a node that said nothing is not counted as full')
      assert.equal(ledger.roomOn('peerC')?.bytes, 0)
      await ledger.close()
      ledger = await ReceiptLedger.open(join(dir.path, 'receipts'))
      assert.equal(ledger.roomOn('peerA')?.bytes, 7000)
      assert.equal(ledger.bytesOn('peerA'), 4, 'room records are not receipts')
      assert.deepEqual(ledger.peers().sort(), ['peerA', 'peerB'])
      const now = ledger.roomOn('peerA')!.atMs
      const line = federationRoomLine([
        { peerId: 'peerA', standing: 'reciprocal', allowance: 0, storesHere: 0, weStoreThere: 4, roomThere: ledger.roomOn('peerA')! },
        { peerId: 'peerC', standing: 'stranger', allowance: 0, storesHere: 0, weStoreThere: 0, roomThere: ledger.roomOn('peerC')! },
        { peerId: 'peerB', standing: 'reciprocal', allowance: 0, storesHere: 0, weStoreThere: 4 }
      ], now)
      assert.match(line, /6\.84 KiB on 2 peer\(s\)/)
      await ledger.close()
    } finally {
      await dir.cleanup()
    }
  })
})

describe('a storage node that lies about its room', () => {
  it('a room beyond 2^53 or malformed is decoded without failing the answer, and the owner keeps no figure of it', async () => {
    const frame = StoreResponseCodec.encode({ error: { code: 4, message: 'full', chunkId: 'x' }, roomLeft: 2 ** 64 - 1 } as any)
    const decoded = StoreResponseCodec.decode(frame)
    assert.ok('error' in decoded && decoded.error !== undefined, 'the refusal still reads')
    const dir = await tempDir('quloud-room-lie-')
    try {
      const ledger = await ReceiptLedger.open(join(dir.path, 'receipts'))
      for (const lie of [decoded.roomLeft!, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) await ledger.room('liar', lie)
      assert.equal(ledger.roomOn('liar'), undefined, 'no unsafe, negative or fractional room is kept')
      await ledger.room('liar', 1000)
      assert.equal(ledger.roomOn('liar')?.bytes, 1000)
      await ledger.close()
    } finally {
      await dir.cleanup()
    }
  })
})
