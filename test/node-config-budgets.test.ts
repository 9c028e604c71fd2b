import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DEFAULT_CONFIG, MIN_PEER_MEMORY_BUDGET, parseNodeConfig } from '../src/domain/config/node-config.ts'
import { MAX_DATA_FRAME_BYTES, STREAM_WINDOW_BYTES } from '../src/adapters/libp2p/wire/constants.ts'
import { ConfigError } from '../src/errors.ts'

const MIB = 2 ** 20

describe('node config: resource budgets', () => {
  it('defaults suit a NAS with 1–2 GB of RAM', () => {
    const config = parseNodeConfig({})
    assert.equal(config.memoryBudget, 256 * MIB)
    assert.equal(config.peerMemoryBudget, 32 * MIB)
    assert.equal(config.subnetMemoryBudget, 64 * MIB)
    assert.equal(config.maxStreams, 512)
    assert.equal(config.maxStreamsPerPeer, 64)
    assert.equal(config.strangersShare, 0.5)
    assert.equal(config.maxConnections, 96)
    assert.ok(config.newConnectionsPerMinute > 0)
    // one subnet cannot spend every stranger's new connections
    assert.ok(config.newConnectionsPerSubnetPerMinute < config.newConnectionsPerMinute)
    // a subnet's strangers: a put's burst of streams at once, a few a second after
    assert.equal(config.strangerStreamsPerSecond, 32)
    assert.equal(config.strangerStreamBurst, 128)
    assert.equal(config.writeDrainTimeout, DEFAULT_CONFIG.writeDrainTimeout)
    // a stranger fills a newcomer's allowance in about a minute; all strangers take a disk's fraction
    assert.equal(config.strangerStoreRate, 4 * MIB)
    assert.equal(config.strangersStoreRate, 16 * MIB)
  })

  it('parses sizes, counts, the share and the drain timeout', () => {
    const config = parseNodeConfig({
      memoryBudget: '1GiB',
      peerMemoryBudget: '16MiB',
      subnetMemoryBudget: '128MiB',
      maxStreams: 1024,
      maxStreamsPerPeer: 32,
      maxStreamsPerSubnet: 64,
      strangersShare: 0.25,
      maxConnections: 32,
      maxConnectionsPerSubnet: 8,
      newConnectionsPerMinute: 20,
      strangerStreamsPerSecond: 4,
      strangerStreamBurst: 16,
      writeDrainTimeout: '10s'
    })
    assert.equal(config.memoryBudget, 2 ** 30)
    assert.equal(config.peerMemoryBudget, 16 * MIB)
    assert.equal(config.subnetMemoryBudget, 128 * MIB)
    assert.equal(config.maxStreamsPerSubnet, 64)
    assert.equal(config.strangersShare, 0.25)
    assert.equal(config.maxConnectionsPerSubnet, 8)
    assert.equal(config.newConnectionsPerMinute, 20)
    assert.equal(config.strangerStreamsPerSecond, 4)
    assert.equal(config.strangerStreamBurst, 16)
    assert.equal(config.writeDrainTimeout, 10_000)
    assert.equal(config.newConnectionsPerSubnetPerMinute, 20)
    assert.equal(parseNodeConfig({ newConnectionsPerMinute: 6 }).newConnectionsPerSubnetPerMinute, 6, 'a lower ceiling lowers the subnets\' default')
    assert.equal(parseNodeConfig({ newConnectionsPerSubnetPerMinute: 5 }).newConnectionsPerSubnetPerMinute, 5)
    const rates = parseNodeConfig({ strangerStoreRate: '1MiB/s', strangersStoreRate: '8MiB' })
    assert.deepEqual([rates.strangerStoreRate, rates.strangersStoreRate], [MIB, 8 * MIB])
    assert.equal(parseNodeConfig({ strangerStoreRate: '32MiB' }).strangersStoreRate, 32 * MIB, 'one subnet\'s rate set alone raises the strangers\' with it')
  })

  it('refuses budgets that cannot work or that a part would exceed', () => {
    const bad: Array<Record<string, unknown>> = [
      { peerMemoryBudget: '3MiB' }, // below two of the largest frames and a stream's window
      { memoryBudget: 'lots' },
      { peerMemoryBudget: '128MiB' }, // above its subnet's
      { subnetMemoryBudget: '512MiB' }, // above the node's
      { maxStreamsPerPeer: 0 },
      { maxStreamsPerPeer: 200 }, // above its subnet's
      { maxStreams: 2.5 },
      { strangersShare: 0 },
      { strangersShare: 1.1 },
      { strangersShare: '1/2' },
      { maxConnectionsPerSubnet: 200 }, // above maxConnections
      { newConnectionsPerMinute: -1 },
      { newConnectionsPerSubnetPerMinute: 0 },
      { newConnectionsPerMinute: 30, newConnectionsPerSubnetPerMinute: 31 }, // above the ceiling
      { strangerStoreRate: '1KiB' }, // below the least rate a holder can serve a put at
      { strangerStoreRate: '8MiB', strangersStoreRate: '4MiB' }, // above all strangers'
      { strangerStreamsPerSecond: 0 },
      { strangerStreamBurst: 0.5 },
      { writeDrainTimeout: '1ms' }
    ]
    for (const raw of bad) assert.throws(() => parseNodeConfig(raw), ConfigError, JSON.stringify(raw))
  })

  it('the least peer budget holds a chunk arriving with its stream\'s window, and its answer going out', () => {
    assert.ok(MIN_PEER_MEMORY_BUDGET >= 2 * MAX_DATA_FRAME_BYTES + STREAM_WINDOW_BYTES)
    assert.equal(parseNodeConfig({ peerMemoryBudget: MIN_PEER_MEMORY_BUDGET }).peerMemoryBudget, MIN_PEER_MEMORY_BUDGET)
  })
})
