import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { Libp2p, Stream } from '@libp2p/interface'
import { silentLoggerFactory } from '../src/adapters/logging/stderr-logger.ts'
import { PeerLimits } from '../src/adapters/libp2p/protocols/peer-limits.ts'
import { serveStream } from '../src/adapters/libp2p/protocols/serve-stream.ts'
import { StreamResources } from '../src/adapters/libp2p/protocols/stream-resources.ts'
import { encodeVarint } from '../src/adapters/libp2p/wire/framed-stream.ts'
import { StoreRequestCodec, StoreResponseCodec } from '../src/adapters/libp2p/wire/messages.ts'
import { startBareHost } from '../src/assembly/host.ts'
import { isRefusal, ResourceBudget, type BudgetLimits } from '../src/domain/resources/resource-budget.ts'
import { StreamRate } from '../src/domain/resources/stream-rate.ts'
import { admissionNetworkOf } from '../src/domain/membership/subnet.ts'

const MIB = 2 ** 20
const limitsWith = (strangerStreams: BudgetLimits['strangerStreams']): BudgetLimits => ({
  node: { memory: 64 * MIB, streams: 1000 },
  subnet: { memory: 64 * MIB, streams: 1000 },
  peer: { memory: 64 * MIB, streams: 1000 },
  protocol: { memory: 64 * MIB, streams: 1000 },
  streamMemory: 4 * MIB,
  strangersShare: 1,
  ...(strangerStreams === undefined ? {} : { strangerStreams })
})

describe('stream rate', () => {
  it('takes a burst at once, then the rate; each key on its own', () => {
    let now = 0
    const rate = new StreamRate({ perSecond: 2, burst: 3 }, () => now)
    assert.deepEqual([rate.take('a'), rate.take('a'), rate.take('a'), rate.take('a')], [true, true, true, false])
    assert.equal(rate.take('b'), true)
    now += 500
    assert.deepEqual([rate.take('a'), rate.take('a')], [true, false])
    now += 10_000
    assert.equal(rate.balanceOf('a'), 3, 'refills to the burst, no further')
  })

  it('a penalty puts a key in debt, at most one burst of it', () => {
    let now = 0
    const rate = new StreamRate({ perSecond: 1, burst: 4 }, () => now)
    rate.penalise('a', 100)
    assert.equal(rate.balanceOf('a'), -4)
    now += 4_000
    assert.equal(rate.take('a'), false, 'still paying off its debt')
    now += 1_500
    assert.equal(rate.take('a'), true)
  })

  it('fresh keys past the most remembered share one bucket instead of growing the map', () => {
    const rate = new StreamRate({ perSecond: 1, burst: 1 }, () => 0)
    for (let i = 0; i < 10_000; i++) assert.equal(rate.take(`s${i}`), true)
    assert.equal(rate.take('fresh-1'), true)
    assert.equal(rate.take('fresh-2'), false, 'the overflow bucket is spent')
  })

  it('the budget paces strangers per subnet, never known peers, and refuses with the subnet named', () => {
    let now = 0
    const budget = new ResourceBudget(limitsWith({ perSecond: 1, burst: 2 }), () => now)
    const stranger = { peer: 'p', subnet: '203.0.113.0/24', protocol: 'x', known: false }
    assert.ok(!isRefusal(budget.openStream(stranger)))
    assert.ok(!isRefusal(budget.openStream({ ...stranger, peer: 'q' })))
    const refused = budget.openStream({ ...stranger, peer: 'r' })
    assert.ok(isRefusal(refused))
    assert.equal(refused.scope, 'subnet:203.0.113.0/24')
    assert.equal(refused.resource, 'new streams')
    assert.ok(!isRefusal(budget.openStream({ ...stranger, subnet: '198.51.100.0/24' })))
    for (let i = 0; i < 10; i++) assert.ok(!isRefusal(budget.openStream({ ...stranger, known: true })))
    budget.penalise('198.51.100.0/24', 2)
    assert.ok(isRefusal(budget.openStream({ ...stranger, subnet: '198.51.100.0/24' })))
    now += 5_000
    assert.ok(!isRefusal(budget.openStream({ ...stranger, subnet: '198.51.100.0/24' })))
    assert.equal(new ResourceBudget(limitsWith(undefined)).newStreamsOf('x'), Infinity, 'no rate: not paced')
  })

  it('a stream counted where the muxer made it is not taken again; one over the rate costs its subnet one, down to a burst of debt', () => {
    let now = 0
    const budget = new ResourceBudget(limitsWith({ perSecond: 1, burst: 2 }), () => now)
    const subnet = '203.0.113.0/24'
    const stranger = { peer: 'p', subnet, protocol: 'x', known: false, counted: true }
    assert.ok(budget.takeNewStream(subnet))
    assert.ok(budget.takeNewStream(subnet))
    for (let i = 0; i < 3; i++) assert.ok(!isRefusal(budget.openStream(stranger)), 'counted already: admitted without its subnet\'s streams')
    assert.ok(!budget.takeNewStream(subnet))
    assert.equal(budget.newStreamsOf(subnet), -1, 'the refused stream was paid for')
    for (let i = 0; i < 5; i++) assert.ok(!budget.takeNewStream(subnet))
    assert.equal(budget.newStreamsOf(subnet), -2, 'at most a burst of debt')
    now += 2_500
    assert.ok(!budget.takeNewStream(subnet), 'still paying the debt')
    now += 2_000
    assert.ok(budget.takeNewStream(subnet), 'paid')
    assert.ok(new ResourceBudget(limitsWith(undefined)).takeNewStream(subnet), 'no rate: every stream passes')
  })

  it('rejects a rate that is not positive or a burst under one', () => {
    assert.throws(() => new ResourceBudget(limitsWith({ perSecond: 0, burst: 2 })), { name: 'ConfigError' })
    assert.throws(() => new ResourceBudget(limitsWith({ perSecond: 1, burst: 0.5 })), { name: 'ConfigError' })
  })
})

describe('a frame that does not complete in time counts against its sender', () => {
  const PROTOCOL = '/quloud-test/slow-frames/1.0.0'
  let node: Libp2p
  let client: Libp2p
  const budget = new ResourceBudget(limitsWith({ perSecond: 0.01, burst: 4 }))
  const known = new Set<string>()
  const resources = new StreamResources({ budget, isKnown: (peer) => known.has(peer), writeDrainTimeoutMs: 5_000 })
  const limits = new PeerLimits({ maxStreamsPerPeer: 100, requestsPerSecond: 100, burst: 100 })
  const streams: Stream[] = []

  before(async () => {
    node = await startBareHost()
    client = await startBareHost()
    await serveOneFrame(node, PROTOCOL, resources, { frameDeadlineMs: 300 }, limits)
  })
  after(async () => {
    for (const s of streams) s.abort(new Error('done'))
    await client.stop()
    await node.stop()
  })

  /** The refusal's text as it arrived (one small frame: its message is in its bytes), or 'ended' when the node ended the stream without one. */
  async function firstAnswer (stream: Stream): Promise<string> {
    return new Promise((resolve) => {
      stream.addEventListener('message', (event) => resolve(Buffer.from(event.data.subarray()).toString('latin1')), { once: true })
      stream.addEventListener('remoteCloseWrite', () => resolve('ended'), { once: true })
      stream.addEventListener('close', () => resolve('ended'), { once: true })
    })
  }

  it('attack: a stranger whose frame timed out owes its subnet a burst of streams; a known peer is never charged', { timeout: 30_000 }, async () => {
    const subnet = admissionNetworkOf('/ip4/127.0.0.1/tcp/1') // the loopback address: a "subnet" of its own
    const open = async (): Promise<Stream> => {
      const stream = await client.dialProtocol(node.getMultiaddrs()[0]!, PROTOCOL)
      streams.push(stream)
      return stream
    }
    const slow = await open()
    const answer = firstAnswer(slow)
    slow.send(encodeVarint(1000))
    slow.send(new Uint8Array(999)) // one byte short, then nothing
    assert.equal(await answer, 'ended', 'the node ends a stream whose frame is too slow (a protocol error: no refusal frame)')
    assert.ok(budget.newStreamsOf(subnet) <= 0, `the subnet may still open ${budget.newStreamsOf(subnet)} streams`)
    const next = await open()
    const refused = firstAnswer(next)
    next.send(encodeVarint(1))
    assert.match(await refused, /new streams budget is full/)

    known.add(client.peerId.toString())
    const before = budget.newStreamsOf(subnet)
    const friend = await open()
    const friendAnswer = firstAnswer(friend)
    friend.send(encodeVarint(1000))
    assert.equal(await friendAnswer, 'ended', 'a known peer\'s slow frame ends its stream too')
    assert.ok(budget.newStreamsOf(subnet) >= before - 0.1, 'but charges nobody')
  })
})

describe('a frame begun and then left idle counts against its sender too', () => {
  const PROTOCOL = '/quloud-test/idle-frames/1.0.0'
  let node: Libp2p
  let client: Libp2p
  const budget = new ResourceBudget(limitsWith({ perSecond: 0.01, burst: 4 }))
  const resources = new StreamResources({ budget, isKnown: () => false, writeDrainTimeoutMs: 5_000 })
  const streams: Stream[] = []

  before(async () => {
    node = await startBareHost()
    client = await startBareHost()
    // the frame's deadline is far; the idle timeout ends it first
    await serveOneFrame(node, PROTOCOL, resources, { idleTimeoutMs: 300, frameDeadlineMs: 60_000 })
  })
  after(async () => {
    for (const s of streams) s.abort(new Error('done'))
    await client.stop()
    await node.stop()
  })

  it('attack: a stranger holding a frame one byte short until the idle timeout owes its subnet a burst of streams; an idle stream with no frame begun owes nothing', { timeout: 30_000 }, async () => {
    const subnet = admissionNetworkOf('/ip4/127.0.0.1/tcp/1')
    const ended = async (stream: Stream): Promise<void> => new Promise((resolve) => { stream.addEventListener('close', () => resolve(), { once: true }) })
    const idle = await client.dialProtocol(node.getMultiaddrs()[0]!, PROTOCOL)
    streams.push(idle)
    await ended(idle)
    assert.ok(budget.newStreamsOf(subnet) > 2, `a stream that began no frame charged its subnet (${budget.newStreamsOf(subnet)} left)`)
    const held = await client.dialProtocol(node.getMultiaddrs()[0]!, PROTOCOL)
    streams.push(held)
    held.send(encodeVarint(1000))
    held.send(new Uint8Array(999))
    await ended(held)
    assert.ok(budget.newStreamsOf(subnet) <= 0, `the subnet may still open ${budget.newStreamsOf(subnet)} streams`)
  })
})

/** Serves `protocol` on `node` under `resources`: one StoreRequest read per stream, refusals as StoreResponses. */
async function serveOneFrame (node: Libp2p, protocol: string, resources: StreamResources, timing: { idleTimeoutMs?: number, frameDeadlineMs: number }, limits = new PeerLimits({ maxStreamsPerPeer: 100, requestsPerSecond: 100, burst: 100 })): Promise<void> {
  await node.handle(protocol, async (stream, connection) => serveStream(stream, connection, {
    limits,
    resources,
    log: silentLoggerFactory('test'),
    maxFrameBytes: 4096,
    ...timing,
    refuse: async (framed, error) => framed.write(StoreResponseCodec, { error })
  }, async (framed) => { await framed.read(StoreRequestCodec) }))
}
