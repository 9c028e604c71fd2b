import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterEach, beforeEach, describe, it } from 'node:test'
import { MemoryChunkStore } from '../src/adapters/chunk-store/memory-chunk-store.ts'
import { ReceiptLedger } from '../src/adapters/data-dir/receipt-ledger.ts'
import { TrustStore } from '../src/adapters/data-dir/trust-store.ts'
import { LevelMetadataStore } from '../src/adapters/metadata-store/level-metadata-store.ts'
import { Allowances } from '../src/app/admission/allowances.ts'
import { StorageService } from '../src/app/storage-service.ts'
import { parseNodeConfig, strangersPerSubnetOf } from '../src/domain/config/node-config.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { admissionSubnetOf } from '../src/domain/membership/subnet.ts'
import { QuotaExceededError } from '../src/domain/protocol/federation-errors.ts'
import { recordCharge } from '../src/domain/protocol/record-charge.ts'
import { tempDir } from './helpers/temp-dir.ts'

const CHUNK = 12_288
const CHARGE = recordCharge(CHUNK)
const NEWCOMER = 8 * CHARGE
const STRANGERS = 200 * CHARGE
const PER_SUBNET = 20 * CHARGE
const SYBIL_NET = 'ip4:203.0.113'
const OTHER_NET = 'ip6:2001:db8:7'

async function freshPeerId (): Promise<string> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
}

let commitment = 1
async function storeOne (storage: StorageService, from: string, subnet: string | undefined): Promise<boolean> {
  const data = randomBytes(CHUNK)
  const c = String(commitment++)
  try {
    await storage.store({ chunkId: chunkIdOf(data), commitment: c, deleteCommitment: c, data, from, ...(subnet === undefined ? {} : { subnet }) })
    return true
  } catch (err) {
    if (err instanceof QuotaExceededError) return false
    throw err
  }
}

async function storeUntilRefused (storage: StorageService, from: string, subnet: string | undefined): Promise<number> {
  let records = 0
  while (records < 1000 && await storeOne(storage, from, subnet)) records++
  return records * CHARGE
}

describe('strangers of one subnet share one share of the strangers\' pool', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  let ledger: ReceiptLedger
  let trust: TrustStore
  let metadata: LevelMetadataStore
  let storage: StorageService

  beforeEach(async () => {
    dir = await tempDir('quloud-subnet-share-')
    ledger = await ReceiptLedger.open(join(dir.path, 'receipts'))
    trust = await TrustStore.open(join(dir.path, 'trust.json'))
    metadata = await LevelMetadataStore.open({ location: join(dir.path, 'metadata') })
    const allowances: Allowances = new Allowances({
      trust,
      receipts: ledger,
      bytesStoredBy: async (peer, o) => metadata.bytesStoredBy(peer, o),
      chargedBytes: async (o) => metadata.totalCharged(o),
      newcomerAllowance: NEWCOMER,
      strangersCapacity: STRANGERS,
      strangersPerSubnet: PER_SUBNET,
      peerCap: 100 * CHARGE,
      inFlight: (peer) => storage.inFlight(peer)
    })
    storage = new StorageService({
      chunkStore: new MemoryChunkStore(),
      metadata,
      capacity: 1000 * CHARGE,
      allowanceOf: async (p, o) => allowances.allowanceOf(p, o),
      subnetShareOf: (p, s) => allowances.subnetShareOf(p, s),
      maxChunkBytes: 2 ** 20
    })
  })

  afterEach(async () => {
    await metadata.close()
    await ledger.close()
    await dir.cleanup()
  })

  it('40 fresh ids from one /24 take one subnet share; a stranger elsewhere and a trusted peer on that /24 still store theirs', async () => {
    let sybils = 0
    for (let i = 0; i < 40; i++) sybils += await storeUntilRefused(storage, await freshPeerId(), SYBIL_NET)
    assert.equal(sybils, PER_SUBNET, 'the whole /24 got exactly its share')
    assert.equal(await metadata.bytesStoredFromSubnet(SYBIL_NET), PER_SUBNET)

    assert.equal(await storeUntilRefused(storage, await freshPeerId(), OTHER_NET), NEWCOMER, 'a stranger of another network keeps its allowance')
    const friend = await freshPeerId()
    await trust.add({ peerId: friend, quota: 30 * CHARGE, name: 'friend' })
    assert.equal(await storeUntilRefused(storage, friend, SYBIL_NET), 30 * CHARGE, 'a trusted peer on the crowded /24 is not held to its share')
    assert.equal(await metadata.bytesStoredFromSubnet(SYBIL_NET), PER_SUBNET, 'a trusted peer\'s records are not the strangers\' share')
  })

  it('ids of one subnet storing at once cannot overshoot the share together', async () => {
    const ids = await Promise.all(Array.from({ length: 30 }, freshPeerId))
    const results = await Promise.all(ids.flatMap((id) => [storeOne(storage, id, SYBIL_NET), storeOne(storage, id, SYBIL_NET)]))
    assert.equal(results.filter(Boolean).length * CHARGE, PER_SUBNET)
    assert.equal(await metadata.bytesStoredFromSubnet(SYBIL_NET), PER_SUBNET)
  })

  it('deleting a stranger\'s record gives its subnet the room back, also after a reopen', async () => {
    const id = await freshPeerId()
    const data = randomBytes(CHUNK)
    await storage.store({ chunkId: chunkIdOf(data), commitment: '77', deleteCommitment: '78', data, from: id, subnet: SYBIL_NET })
    let others = 0
    for (let i = 0; i < 5; i++) others += await storeUntilRefused(storage, await freshPeerId(), SYBIL_NET)
    assert.equal(others, PER_SUBNET - CHARGE)
    await storage.remove(chunkIdOf(data), '78')
    assert.equal(await metadata.bytesStoredFromSubnet(SYBIL_NET), PER_SUBNET - CHARGE)
    await metadata.close()
    metadata = await LevelMetadataStore.open({ location: join(dir.path, 'metadata') })
    assert.equal(await metadata.bytesStoredFromSubnet(SYBIL_NET), PER_SUBNET - CHARGE)
  })
})

describe('the subnet a connection is admitted under', () => {
  it('is the public /24 or /48 of a direct connection, the relay\'s (marked) for a relayed one, none for private ones', () => {
    assert.equal(admissionSubnetOf('/ip4/203.0.113.9/tcp/4101'), 'ip4:203.0.113')
    assert.equal(admissionSubnetOf('/ip6/2001:db8:0:7::1/tcp/4101'), 'ip6:2001:db8:0')
    assert.equal(admissionSubnetOf('/ip4/198.51.100.4/tcp/4101/p2p/12D3KooWGzBvtJ2a6bJ1Zk9xj8pW5Ss2jtdJjHfYh5pJ1sBv7yP8/p2p-circuit'), 'via:ip4:198.51.100')
    assert.equal(admissionSubnetOf('/ip4/127.0.0.1/tcp/4101'), undefined)
    assert.equal(admissionSubnetOf('/ip4/192.168.1.5/tcp/4101/p2p/12D3KooWGzBvtJ2a6bJ1Zk9xj8pW5Ss2jtdJjHfYh5pJ1sBv7yP8/p2p-circuit'), undefined)
  })

  it('defaults to a quarter of the strangers\' capacity, and is a validated config key', () => {
    assert.equal(strangersPerSubnetOf(parseNodeConfig({ capacity: '8GiB' })), 2 ** 30)
    assert.equal(strangersPerSubnetOf(parseNodeConfig({ capacity: '8GiB', strangersPerSubnet: '3GiB' })), 3 * 2 ** 30)
    assert.equal(strangersPerSubnetOf(parseNodeConfig({ capacity: '8GiB', strangersCapacity: '1GiB', strangersPerSubnet: '3GiB' })), 2 ** 30, 'never more than all strangers may take')
    assert.throws(() => parseNodeConfig({ strangersPerSubnet: 'lots' }), { name: 'ConfigError' })
  })
})
