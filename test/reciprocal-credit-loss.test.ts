import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { ReceiptLedger } from '../src/adapters/data-dir/receipt-ledger.ts'
import { Allowances } from '../src/app/admission/allowances.ts'
import { recordReceipts } from '../src/app/admission/receipt-recording-federation-client.ts'
import { NotFoundError } from '../src/errors.ts'
import { ChunkIdMismatchError } from '../src/domain/protocol/federation-errors.ts'
import type { FederationClient, ProvenSession } from '../src/ports/federation-client.ts'
import { tempDir } from './helpers/temp-dir.ts'
import { ReedSolomonCodec } from '../src/adapters/erasure/reed-solomon-codec.ts'
import { silentLoggerFactory } from '../src/adapters/logging/stderr-logger.ts'
import { CatalogueService } from '../src/app/owner/catalogue-service.ts'
import { OwnerService } from '../src/app/owner/owner-service.ts'
import { RepairService } from '../src/app/owner/repair-service.ts'
import { RepairBudget } from '../src/app/owner/repair-budget.ts'
import { MemoryCache, MemoryFederation } from './helpers/memory-federation.ts'
import { fakePeerId } from './helpers/owner-fixtures.ts'

const KEPT = 'a'.repeat(64)
const DROPPED = 'b'.repeat(64)
const SWAPPED = 'c'.repeat(64)

describe('reciprocal credit follows what a holder still keeps', () => {
  it('a holder that answers a proven read with not-found loses the credit of that chunk, and only of it', async () => {
    const dir = await tempDir('quloud-credit-loss-')
    const ledger = await ReceiptLedger.open(join(dir.path, 'receipts'))
    try {
      await ledger.stored('dropper', KEPT, '11', 4000)
      await ledger.stored('dropper', DROPPED, '11', 6000)
      await ledger.stored('dropper', DROPPED, '12', 1000)
      await ledger.stored('other', DROPPED, '11', 6000)
      const session: ProvenSession = {
        get: async (chunkId) => { if (chunkId === DROPPED) throw new NotFoundError('no such chunk'); return new Uint8Array(1) },
        list: async () => [],
        delete: async () => ({ bytesRemoved: true }),
        close: async () => {}
      }
      const inner = { openSession: async () => session } as unknown as FederationClient
      const federation = recordReceipts(inner, ledger)
      const read = await federation.openSession('dropper', { action: 'retrieve', secret: 5n } as any)
      await read.get(KEPT)
      await assert.rejects(read.get(DROPPED), NotFoundError)
      assert.equal(ledger.bytesOn('dropper'), 4000, 'only the dropped chunk\'s receipts go')
      assert.equal(ledger.bytesOn('other'), 6000, 'another holder of it keeps its credit')

      const allowances = new Allowances({
        trust: { get: () => undefined, list: () => [] },
        receipts: ledger,
        bytesStoredBy: async () => 0,
        chargedBytes: async () => 0,
        newcomerAllowance: 100,
        strangersCapacity: 1000,
        peerCap: 1_000_000
      })
      assert.equal(await allowances.allowanceOf('dropper'), 4100)
      await ledger.lost('dropper', KEPT)
      assert.equal(allowances.standingOf('dropper'), 'stranger', 'a holder that kept nothing is a stranger again')
    } finally {
      await ledger.close()
      await dir.cleanup()
    }
  })

  it('a holder that answers an audit with not-found, or a read with other bytes, loses that chunk\'s credit too', async () => {
    const dir = await tempDir('quloud-credit-audit-')
    const ledger = await ReceiptLedger.open(join(dir.path, 'receipts'))
    try {
      await ledger.stored('dropper', KEPT, '11', 4000)
      await ledger.stored('dropper', DROPPED, '11', 6000)
      await ledger.stored('dropper', SWAPPED, '11', 3000)
      const proof = { chunkId: KEPT, leafCount: 1, leaves: [] }
      const session: ProvenSession = {
        get: async (chunkId) => { if (chunkId === SWAPPED) throw new ChunkIdMismatchError('other bytes'); return new Uint8Array(1) },
        audit: async (chunkId) => { if (chunkId === DROPPED) throw new NotFoundError('no such chunk'); return proof as any },
        list: async () => [],
        delete: async () => ({ bytesRemoved: true }),
        close: async () => {}
      }
      const federation = recordReceipts({ openSession: async () => session } as unknown as FederationClient, ledger)
      const read = await federation.openSession('dropper', { action: 'retrieve', secret: 5n } as any)
      assert.equal(await read.audit!(KEPT, [0]), proof)
      await assert.rejects(read.audit!(DROPPED, [0]), NotFoundError)
      assert.equal(ledger.bytesOn('dropper'), 7000, 'a holder that dropped a chunk we only audit keeps no credit for it')
      await assert.rejects(read.get(SWAPPED), ChunkIdMismatchError)
      assert.equal(ledger.bytesOn('dropper'), 4000, 'nor for a chunk it answers with other bytes')
    } finally {
      await ledger.close()
      await dir.cleanup()
    }
  })

  it('attack: a holder that keeps its receipts\' bytes but answers audits with other leaves (a swapped shard) passes every receipt check; once the owner\'s audit catches it, it earns no reciprocal credit', async () => {
    const dir = await tempDir('quloud-credit-caught-')
    const ledger = await ReceiptLedger.open(join(dir.path, 'receipts'))
    try {
      const memory = new MemoryFederation()
      for (let i = 0; i < 8; i++) memory.addPeer(fakePeerId())
      const deps = { master: randomBytes(32), federation: recordReceipts(memory, ledger), log: silentLoggerFactory('test'), codec: new ReedSolomonCodec() }
      const catalogue = new CatalogueService({ ...deps, cache: new MemoryCache(), replicas: 3 })
      const owner = new OwnerService(deps, catalogue)
      const repair = new RepairService(deps, catalogue, { repairAfterMs: 60_000, auditSample: 2, budget: new RepairBudget(1e12), concurrency: 2 })
      const path = join(dir.path, 'file.bin')
      await writeFile(path, randomBytes(4 * 1024 * 1024 + 300_000))
      const [outcome] = await owner.put([path], { kind: 'erasure', scheme: { data: 4, parity: 2 } }, () => {})
      const swapper = outcome!.holders[0]!
      // two shards of one stripe each other's bytes: both still there, ids and sizes as the receipts say
      for (const chunks of memory.nodes.get(swapper)!.values()) {
        const entries = [...chunks]
        if (entries.length === 2) {
          chunks.set(entries[0]![0], entries[1]![1])
          chunks.set(entries[1]![0], entries[0]![1])
        }
      }
      const allowances = (caught?: (peer: string) => boolean): Allowances => new Allowances({
        trust: { get: () => undefined, list: () => [] },
        receipts: ledger,
        bytesStoredBy: async () => 0,
        chargedBytes: async () => 0,
        newcomerAllowance: 100_000,
        strangersCapacity: 1_000_000,
        peerCap: 1e12,
        ...(caught === undefined ? {} : { caught })
      })
      const credited = ledger.bytesOn(swapper)
      assert.ok(credited > 100_000, 'the swapper holds two shards\' worth of receipts')
      assert.equal(allowances((peer) => repair.distrusts(peer)).standingOf(swapper), 'reciprocal')

      const [check] = await repair.check(undefined, { repair: false })
      assert.equal(check!.failed, 1)
      assert.ok(repair.distrusts(swapper))
      assert.equal(ledger.bytesOn(swapper), credited, 'the receipts could not tell: the leaves were checked above them')
      assert.equal(allowances().standingOf(swapper), 'reciprocal', 'without the audit\'s word it would keep its credit')
      const after = allowances((peer) => repair.distrusts(peer))
      assert.equal(after.standingOf(swapper), 'stranger')
      assert.equal(await after.allowanceOf(swapper), 100_000, 'a newcomer\'s allowance, not its receipts\' worth')
      for (const honest of outcome!.holders.slice(1)) assert.equal(after.standingOf(honest), 'reciprocal', `${honest} keeps its credit`)
    } finally {
      await ledger.close()
      await dir.cleanup()
    }
  })
})
