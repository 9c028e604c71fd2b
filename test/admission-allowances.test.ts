import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { writeFile, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterEach, beforeEach, describe, it } from 'node:test'
import { MemoryChunkStore } from '../src/adapters/chunk-store/memory-chunk-store.ts'
import { ReceiptLedger } from '../src/adapters/data-dir/receipt-ledger.ts'
import { TrustFileError, TrustStore } from '../src/adapters/data-dir/trust-store.ts'
import { MemoryMetadataStore } from '../src/adapters/metadata-store/memory-metadata-store.ts'
import { Allowances } from '../src/app/admission/allowances.ts'
import { StorageService } from '../src/app/storage-service.ts'
import { QuotaExceededError } from '../src/domain/protocol/federation-errors.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { InvalidInputError } from '../src/errors.ts'
import { rejectsWith } from './helpers/rejects-with.ts'
import { tempDir } from './helpers/temp-dir.ts'
import { recordCharge } from '../src/domain/protocol/record-charge.ts'

// the measured attack (150 MB node, 48 fresh ids) scaled down by 100, in whole record
// charges (record-charge.ts: a 12,288-byte chunk is charged 12,800 bytes)
const CHUNK = 12_288
const CHARGE = recordCharge(CHUNK)
const CAPACITY = 120 * CHARGE
const NEWCOMER = 8 * CHARGE
const STRANGERS = 60 * CHARGE
const PEER_CAP = 30 * CHARGE
const TRUSTED = await freshPeerId()
const RECIPROCAL = await freshPeerId()

async function freshPeerId (): Promise<string> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
}

let commitment = 1
async function storeUntilRefused (storage: StorageService, from: string, most = 1000): Promise<{ stored: number, refusal: unknown }> {
  let stored = 0
  for (let i = 0; i < most; i++) {
    const data = randomBytes(CHUNK)
    const c = String(commitment++)
    try {
      await storage.store({ chunkId: chunkIdOf(data), commitment: c, deleteCommitment: c, data, from })
      stored += CHARGE
    } catch (refusal) {
      return { stored, refusal }
    }
  }
  return { stored, refusal: undefined }
}

describe('admission: trusted, reciprocal and stranger allowances', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  let ledger: ReceiptLedger
  let trust: TrustStore
  let chunkStore: MemoryChunkStore
  let metadata: MemoryMetadataStore
  let storage: StorageService
  let allowances: Allowances

  beforeEach(async () => {
    dir = await tempDir('quloud-admission-')
    ledger = await ReceiptLedger.open(join(dir.path, 'receipts'))
    trust = await TrustStore.open(join(dir.path, 'trust.json'))
    chunkStore = new MemoryChunkStore()
    metadata = new MemoryMetadataStore()
    allowances = new Allowances({
      trust,
      receipts: ledger,
      bytesStoredBy: async (peer, o) => metadata.bytesStoredBy(peer, o),
      chargedBytes: async (o) => metadata.totalCharged(o),
      newcomerAllowance: NEWCOMER,
      strangersCapacity: STRANGERS,
      peerCap: PEER_CAP,
      inFlight: (peer) => storage.inFlight(peer)
    })
    storage = new StorageService({ chunkStore, metadata, capacity: CAPACITY, allowanceOf: async (p, o) => allowances.allowanceOf(p, o), maxChunkBytes: 2 ** 20 })
  })

  afterEach(async () => {
    await ledger.close()
    await dir.cleanup()
  })

  it('48 fresh ids fill only the strangers\' share; a trusted and a reciprocal peer still store their allowance', async () => {
    await trust.add({ peerId: TRUSTED, quota: 32 * CHARGE, name: 'alice' })
    // this node's owner side holds receipts for 16 charges' worth on the reciprocal peer
    for (let i = 0; i < 16; i++) await ledger.stored(RECIPROCAL, chunkIdOf(randomBytes(8)), String(i + 1), CHARGE)

    let strangersStored = 0
    for (let i = 0; i < 48; i++) {
      const { stored, refusal } = await storeUntilRefused(storage, `12D3KooWSybil${i}`)
      assert.ok(refusal instanceof QuotaExceededError, `sybil ${i} was refused with ${(refusal as Error)?.name}`)
      assert.ok(stored <= NEWCOMER)
      strangersStored += stored
    }
    // the share and every allowance count record charges, which are never below the disk taken
    assert.equal(strangersStored, STRANGERS)
    assert.ok(await chunkStore.usedBytes() <= STRANGERS)
    // a 49th fresh id finds the pool spent
    assert.ok(await allowances.allowanceOf('12D3KooWHonestNewcomer') < CHARGE, 'not one more record')

    const trusted = await storeUntilRefused(storage, TRUSTED)
    assert.equal(trusted.stored, 32 * CHARGE)
    assert.ok(trusted.refusal instanceof QuotaExceededError)
    const reciprocal = await storeUntilRefused(storage, RECIPROCAL)
    // 1x what we store there plus the newcomer allowance, outside the strangers' pool
    assert.equal(reciprocal.stored, 16 * CHARGE + NEWCOMER)
    assert.ok(reciprocal.refusal instanceof QuotaExceededError)
    assert.ok(await chunkStore.usedBytes() <= CAPACITY)
  })

  it('48 fresh ids storing all at once, 4 chunks each in flight, still fill only the strangers\' share', async () => {
    const sybils = Array.from({ length: 48 }, (_, i) => `12D3KooWSybil${i}`)
    const attempts = sybils.flatMap((from) => Array.from({ length: 4 }, async () => storeUntilRefused(storage, from, 20)))
    const results = await Promise.all(attempts)
    const stored = results.reduce((n, r) => n + r.stored, 0)
    // without the stores in flight in the pool, this took the whole capacity
    const disk = await chunkStore.usedBytes()
    assert.ok(disk <= STRANGERS, `strangers took ${disk} bytes of disk of a ${STRANGERS}-byte share`)
    assert.ok(stored >= STRANGERS - 48 * 4 * CHARGE, `the share was used (${stored} bytes)`)
    for (const from of sybils) assert.ok(await metadata.bytesStoredBy(from) <= NEWCOMER)
    assert.equal(storage.inFlight(), 0)
  })

  it('a reciprocal peer storing tiny records does not widen the strangers\' share for its other identities', async () => {
    // disk bytes and charges part most for tiny records: were the share computed from the
    // disk, each of these would leave ~4.6 kB more room to the same operator's strangers
    for (let i = 0; i < 16; i++) await ledger.stored(RECIPROCAL, chunkIdOf(randomBytes(8)), String(i + 1), CHARGE)
    for (let i = 0; i < 20; i++) {
      const data = randomBytes(4)
      const c = String(900_000 + i)
      await storage.store({ chunkId: chunkIdOf(data), commitment: c, deleteCommitment: c, data, from: RECIPROCAL })
    }
    let strangers = 0
    for (let i = 0; i < 48; i++) strangers += (await storeUntilRefused(storage, `12D3KooWSybil${i}`)).stored
    assert.equal(strangers, STRANGERS)
  })

  it('a stranger that deletes nothing cannot take the pool back from another by storing again', async () => {
    await storeUntilRefused(storage, '12D3KooWSybilA')
    const again = await storeUntilRefused(storage, '12D3KooWSybilA')
    assert.equal(again.stored, 0)
    assert.equal(await metadata.bytesStoredBy('12D3KooWSybilA'), NEWCOMER)
  })

  it('no peer outside the trust list gets more than the per-peer cap, however much we store on it', async () => {
    await ledger.stored(RECIPROCAL, chunkIdOf(randomBytes(8)), '1', 10 * PEER_CAP)
    assert.equal(await allowances.allowanceOf(RECIPROCAL), PEER_CAP)
  })

  it('deleted receipts stop counting, and the tally survives a reopen', async () => {
    const chunk = chunkIdOf(randomBytes(8))
    await ledger.stored(RECIPROCAL, chunk, '5', 50_000)
    await ledger.stored(RECIPROCAL, chunk, '5', 50_000) // the same receipt again counts once
    // more than a newcomer's allowance (NEWCOMER): reciprocal takes at least that much
    await ledger.stored(RECIPROCAL, chunkIdOf(randomBytes(8)), '6', 130_000)
    assert.equal(ledger.bytesOn(RECIPROCAL), 180_000)
    await ledger.deleted(RECIPROCAL, chunk, '5')
    await ledger.close()
    ledger = await ReceiptLedger.open(join(dir.path, 'receipts'))
    assert.equal(ledger.bytesOn(RECIPROCAL), 130_000)
    assert.equal(allowances.standingOf(RECIPROCAL), 'reciprocal')
  })

  it('receipts for less than a newcomer\'s allowance leave a peer a stranger, with a stranger\'s allowance', async () => {
    await ledger.stored(RECIPROCAL, chunkIdOf(randomBytes(8)), '7', 4096)
    assert.equal(allowances.standingOf(RECIPROCAL), 'stranger')
    assert.equal(await allowances.allowanceOf(RECIPROCAL), NEWCOMER, 'not less than a stranger gets')
  })
})

describe('trust store', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  beforeEach(async () => { dir = await tempDir('quloud-trust-') })
  afterEach(async () => dir.cleanup())

  it('persists add, change and remove', async () => {
    const path = join(dir.path, 'trust.json')
    const store = await TrustStore.open(path)
    await store.add({ peerId: TRUSTED, quota: 10, name: 'alice' }, 1000)
    await store.add({ peerId: RECIPROCAL, quota: 20, name: '' }, 2000)
    await store.add({ peerId: TRUSTED, quota: 30, name: 'alice b' }, 3000)
    assert.deepEqual((await TrustStore.open(path)).list(), [
      { peerId: TRUSTED, quota: 30, name: 'alice b', addedAt: 1000 },
      { peerId: RECIPROCAL, quota: 20, name: '', addedAt: 2000 }
    ].sort((a, b) => a.peerId < b.peerId ? -1 : 1))
    assert.equal(await store.remove(TRUSTED), true)
    assert.equal(await store.remove(TRUSTED), false)
    assert.deepEqual((await TrustStore.open(path)).list().map((p) => p.peerId), [RECIPROCAL])
  })

  it('refuses a malformed file with TrustFileError and leaves it as it was', async () => {
    const path = join(dir.path, 'trust.json')
    const good = { peerId: TRUSTED, quota: 1, name: 'a', addedAt: 1 }
    for (const text of [
      '{"format": 1, "peers": [',
      '[]',
      '{"format": 2, "peers": []}',
      JSON.stringify({ format: 1, peers: [{ ...good, quota: -1 }] }),
      JSON.stringify({ format: 1, peers: [{ ...good, quota: '1TB' }] }),
      JSON.stringify({ format: 1, peers: [{ ...good, peerId: 'not/a peer' }] }),
      JSON.stringify({ format: 1, peers: [{ ...good, peerId: TRUSTED.slice(0, -5) }] }),
      JSON.stringify({ format: 1, peers: [{ ...good, name: 'forged\nlog line' }] }),
      JSON.stringify({ format: 1, peers: [{ ...good, extra: true }] }),
      JSON.stringify({ format: 1, peers: [good, good] })
    ]) {
      await writeFile(path, text)
      await rejectsWith(TrustStore.open(path), TrustFileError)
      assert.equal(await readFile(path, 'utf8'), text)
    }
  })

  it('refuses a bad entry from the API with InvalidInputError, writing nothing', async () => {
    const path = join(dir.path, 'trust.json')
    const store = await TrustStore.open(path)
    await store.add({ peerId: TRUSTED, quota: 1, name: 'a' })
    const before = await readFile(path, 'utf8')
    await rejectsWith(store.add({ peerId: 'x y', quota: 1, name: '' }), InvalidInputError)
    await rejectsWith(store.add({ peerId: RECIPROCAL, quota: 1.5, name: '' }), InvalidInputError)
    await rejectsWith(store.add({ peerId: RECIPROCAL, quota: 1, name: '"quoted"' }), InvalidInputError)
    assert.equal(await readFile(path, 'utf8'), before)
    assert.equal(store.get(RECIPROCAL), undefined)
  })
})
