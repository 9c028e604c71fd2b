import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { StoreClient } from '../src/adapters/libp2p/protocols/store-client.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { commitmentToDecimal, poseidonCommitment } from '../src/domain/proofs/poseidon-commitment.ts'
import { recordCharge } from '../src/domain/protocol/record-charge.ts'
import { StoreRate } from '../src/domain/resources/store-rate.ts'
import { startBudgetedNodeProcess, type BudgetedNodeProcess } from './helpers/budgeted-node-process.ts'

const MIB = 2 ** 20
const CHUNK = 256 * 1024

describe('store rate', () => {
  it('charges into debt per subnet and for all strangers; the wait is what pays the debt off', () => {
    let now = 0
    const rate = new StoreRate({ perSubnet: MIB, strangers: 3 * MIB }, () => now)
    assert.equal(rate.waitMs('a'), 0)
    rate.charge('a', 3 * MIB) // its 2 s burst, and 1 MiB of debt
    assert.equal(rate.waitMs('a'), 1000)
    assert.equal(rate.waitMs('b'), 0, 'another subnet is not held by a\'s debt')
    rate.charge('b', 2 * MIB)
    rate.charge('c', 2 * MIB) // the strangers' 6 MiB burst is spent, 1 MiB more is owed
    assert.equal(rate.waitMs('d'), Math.ceil(1 / 3 * 1000), 'a fresh subnet waits for the strangers\' debt')
    now += 1000
    assert.equal(rate.waitMs('a'), 0)
  })
})

/**
 * Strangers' stores are metered in bytes a second per subnet and for all strangers while
 * the node serves peers with standing: the sybil fill of the hostile bench (48 free ids
 * storing their allowances at disk speed) took the node's cores and disk from the peers
 * it trusts. Every host dials from its own loopback address: "another subnet" is another
 * 127.0.0.x here. A trusted peer storing a small chunk every 200 ms is the work the
 * strangers must not crowd out.
 */
describe('attack: strangers storing as fast as they can', () => {
  const nodes: BudgetedNodeProcess[] = []
  after(async () => {
    for (const node of nodes) await node.stop()
  })

  async function node (budgets: { strangerStoreRate: number, strangersStoreRate: number }, known: PrivateKey[] = []): Promise<BudgetedNodeProcess> {
    const started = await startBudgetedNodeProcess({ budgets, known: known.map((k) => peerIdFromPrivateKey(k).toString()) })
    nodes.push(started)
    return started
  }

  /** `ids` fresh identities from `localAddress`, each storing CHUNK-sized chunks on 2 streams until `stop`; the bytes stored. */
  async function flood (target: BudgetedNodeProcess, localAddress: string, ids: number): Promise<{ stop: () => Promise<number> }> {
    const hosts: Libp2p[] = []
    // one after another: a host gets two handshakes in progress (pendingConnectionGater)
    for (let i = 0; i < ids; i++) hosts.push(await connected(target, await target.client(undefined, localAddress)))
    let stored = 0
    let running = true
    const loops = hosts.flatMap((host) => [0, 1].map(async () => {
      const store = await StoreClient.open(host, peerIdFromString(target.peerId))
      try {
        while (running) { await storeOne(store); stored += CHUNK }
      } finally {
        await store.close().catch(() => {})
      }
    }))
    return { stop: async () => { running = false; await Promise.allSettled(loops); return stored } }
  }

  async function put (target: BudgetedNodeProcess, host: Libp2p, bytes: number): Promise<void> {
    const store = await StoreClient.open(host, peerIdFromString(target.peerId))
    try {
      for (let sent = 0; sent < bytes; sent += CHUNK) await storeOne(store)
    } finally {
      await store.close()
    }
  }

  /** A trusted peer from `localAddress` storing a 4 KiB chunk every 200 ms until `stop`. */
  async function trustedWork (target: BudgetedNodeProcess, key: PrivateKey, localAddress: string): Promise<{ stop: () => Promise<void> }> {
    const store = await StoreClient.open(await connected(target, await target.client(key, localAddress)), peerIdFromString(target.peerId))
    let running = true
    const loop = (async () => {
      while (running) {
        await storeOne(store, 4096)
        await new Promise((resolve) => setTimeout(resolve, 200))
      }
    })()
    return { stop: async () => { running = false; await loop; await store.close() } }
  }

  /** What a subnet may have stored in `seconds` at `rate`: its 2 s burst, the rate, and one chunk per stream read past the check. */
  const bound = (rate: number, seconds: number, streams: number): number =>
    (2 + seconds) * rate + streams * recordCharge(CHUNK)

  it('one subnet\'s ids together store at its rate; a trusted peer on that subnet and a stranger of another are not held by its debt', { timeout: 120_000 }, async () => {
    const trustedKey = await generateKeyPair('Ed25519')
    const target = await node({ strangerStoreRate: MIB, strangersStoreRate: 64 * MIB }, [trustedKey])
    const work = await trustedWork(target, trustedKey, '127.0.0.20')
    const attack = await flood(target, '127.0.0.20', 4)
    const started = performance.now()
    await new Promise((resolve) => setTimeout(resolve, 1000))
    // the attacker's subnet is in debt now: a trusted peer from the same host and a
    // stranger of another subnet each put 1 MiB, a stranger of that subnet 512 KiB, at once
    const trusted = await connected(target, await target.client(trustedKey, '127.0.0.20'))
    const sameSubnet = await connected(target, await target.client(undefined, '127.0.0.20'))
    const otherSubnet = await connected(target, await target.client(undefined, '127.0.0.21'))
    const order: string[] = []
    await Promise.all([
      put(target, trusted, MIB).then(() => order.push('trusted')),
      put(target, sameSubnet, 2 * CHUNK).then(() => order.push('same subnet')),
      put(target, otherSubnet, MIB).then(() => order.push('other subnet'))
    ])
    const stored = await attack.stop()
    const seconds = (performance.now() - started) / 1000
    await work.stop()
    assert.equal(order.at(-1), 'same subnet', `the trusted peer and the other subnet's stranger are not queued behind the attacker's debt: ${order.join(', ')}`)
    // unpaced, 8 streams of 256 KiB stores on 127.0.0.1 store tens of MiB a second
    assert.ok(stored + 2 * CHUNK <= bound(MIB, seconds, 9), `the subnet's strangers stored ${(stored / MIB).toFixed(1)} MiB and 512 KiB in ${seconds.toFixed(1)} s at 1 MiB/s`)
  })

  it('all strangers together keep to the node-wide rate, and their debt is paid off once they stop', { timeout: 120_000 }, async () => {
    const trustedKey = await generateKeyPair('Ed25519')
    const target = await node({ strangerStoreRate: MIB, strangersStoreRate: 2 * MIB }, [trustedKey])
    const newcomer = await target.client(undefined, '127.0.0.39')
    const work = await trustedWork(target, trustedKey, '127.0.0.38')
    const attacks = await Promise.all(['127.0.0.30', '127.0.0.31', '127.0.0.32'].map(async (address) => flood(target, address, 2)))
    const started = performance.now()
    await new Promise((resolve) => setTimeout(resolve, 4000))
    const stored = (await Promise.all(attacks.map(async (a) => a.stop()))).reduce((sum, bytes) => sum + bytes, 0)
    const seconds = (performance.now() - started) / 1000
    // three subnets at 1 MiB/s each would be 3 MiB/s: the strangers' 2 MiB/s holds them
    assert.ok(stored <= bound(2 * MIB, seconds, 12), `three subnets' strangers stored ${(stored / MIB).toFixed(1)} MiB in ${seconds.toFixed(1)} s at 2 MiB/s for all`)
    // once the attack stops, the debt is paid off in seconds and a newcomer stores
    await put(target, newcomer, MIB)
    await work.stop()
  })

  it('strangers are paced only while a peer with standing is served: an idle node takes their stores at its own speed', { timeout: 120_000 }, async () => {
    const trustedKey = await generateKeyPair('Ed25519')
    const rate = 256 * 1024
    const target = await node({ strangerStoreRate: rate, strangersStoreRate: rate }, [trustedKey])
    const during = async (seconds: number): Promise<{ stored: number, seconds: number }> => {
      const attack = await flood(target, '127.0.0.40', 4)
      const started = performance.now()
      await new Promise((resolve) => setTimeout(resolve, seconds * 1000))
      const stored = await attack.stop()
      return { stored, seconds: (performance.now() - started) / 1000 }
    }
    const idle = await during(3)
    assert.ok(idle.stored > bound(rate, idle.seconds, 8), `unpaced on an idle node: ${(idle.stored / MIB).toFixed(1)} MiB in ${idle.seconds.toFixed(1)} s`)
    const work = await trustedWork(target, trustedKey, '127.0.0.41')
    const busy = await during(3)
    await work.stop()
    assert.ok(busy.stored <= bound(rate, busy.seconds, 8), `paced while a trusted peer stores: ${(busy.stored / MIB).toFixed(1)} MiB in ${busy.seconds.toFixed(1)} s at 256 KiB/s`)
  })
})

async function connected (target: BudgetedNodeProcess, host: Libp2p): Promise<Libp2p> {
  await host.dial(peerIdFromString(target.peerId), { signal: AbortSignal.timeout(20_000) })
  return host
}

async function storeOne (store: StoreClient, bytes = CHUNK): Promise<void> {
  const data = randomBytes(bytes)
  const commitment = commitmentToDecimal(poseidonCommitment(BigInt(1 + data[0]!)))
  await store.store({ chunkId: chunkIdOf(data), commitment, deleteCommitment: commitment, data })
}
