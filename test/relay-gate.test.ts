import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import type { Libp2p } from '@libp2p/interface'
import type { FederationHost } from '../src/adapters/libp2p/membership.ts'
import type { GatedRelay } from '../src/adapters/libp2p/relay-gate.ts'
import { sendWithBackPressure } from '../src/adapters/libp2p/wire/send-with-back-pressure.ts'
import { gatedRelay, relayClient } from './helpers/relay-gate-fixtures.ts'
import { waitFor } from './helpers/wait-for.ts'

const SINK = '/quloud-test/sink/1.0.0'
const RATE = 512 * 1024

/**
 * The relay server's gate, on a real relay with real clients (127.0.0.x is loopback:
 * nothing leaves the machine). The attacks: a stranger's address taking every
 * reservation with free ids, strangers holding the relay full against the peers it
 * trusts, and a stranger's circuit pumping bytes through the relay without bound.
 */
describe('a relay server gates who reserves and how much strangers relay', () => {
  let relay: FederationHost
  const known = new Set<string>()
  const clients: Libp2p[] = []
  const gate = (): GatedRelay['gate'] => relay.services.relay!.gate
  const reserved = (host: Libp2p): boolean => [...relay.services.relay!.reservations.keys()].some((p) => p.equals(host.peerId))

  before(async () => {
    relay = await gatedRelay({ relayReservations: 3, relayReservationsPerSubnet: 2, relayStrangerRate: RATE, isKnownPeer: (peer) => known.has(peer) })
  })
  after(async () => {
    for (const client of clients) await Promise.resolve(client.stop()).catch(() => {})
    await relay.stop()
  })

  /** A client dialling from `localAddress` that asks the relay for a reservation (it listens on /p2p-circuit). */
  async function client (localAddress: string, trust = false): Promise<Libp2p> {
    const host = await relayClient(relay, localAddress, clients)
    if (trust) known.add(host.peerId.toString())
    return host
  }

  /** Waits until the relay has decided on `host`'s reservation; true when it holds one. */
  async function decided (host: Libp2p): Promise<boolean> {
    await waitFor(() => reserved(host) || gate().refused.has(host.peerId.toString()), { what: `a decision on ${host.peerId}'s reservation`, timeoutMs: 40_000 })
    return reserved(host)
  }

  let holder: Libp2p
  let trusted: Libp2p

  it('free ids from one address hold at most reservationsPerSubnet; a known peer takes a stranger\'s slot when full', { timeout: 180_000 }, async () => {
    const fromOne = [await client('127.0.0.3'), await client('127.0.0.3'), await client('127.0.0.3')]
    const verdicts = []
    for (const host of fromOne) verdicts.push(await decided(host))
    assert.equal(verdicts.filter(Boolean).length, 2, `reservations from 127.0.0.3: ${verdicts.join(', ')}`)
    holder = await client('127.0.0.4')
    assert.equal(await decided(holder), true, 'another network gets the last slot')
    const late = await client('127.0.0.5')
    assert.equal(await decided(late), false, 'the relay is full for strangers')
    trusted = await client('127.0.0.6', true)
    assert.equal(await decided(trusted), true, 'a trusted peer is not kept out by strangers')
    assert.equal(gate().reservationsEvicted, 1)
    assert.equal(relay.services.relay!.reservations.size, 3)
    assert.ok(reserved(holder), 'the oldest stranger went, not the newest')
  })

  /** Sends `bytes` to `to` through the relay on a fresh stream; resolves once `to` read them all. */
  async function relayed (from: Libp2p, to: Libp2p, bytes: number): Promise<number> {
    let received = 0
    let done!: () => void
    const all = new Promise<void>((resolve) => { done = resolve })
    await to.handle(SINK, async (stream) => {
      for await (const chunk of stream) {
        received += chunk.byteLength
        if (received >= bytes) done()
      }
    }, { force: true })
    const circuit = relay.getMultiaddrs()[0]!.encapsulate(`/p2p-circuit/p2p/${to.peerId.toString()}`)
    const started = performance.now()
    const stream = await from.dialProtocol(circuit, SINK, { signal: AbortSignal.timeout(20_000) })
    const block = randomBytes(64 * 1024)
    for (let sent = 0; sent < bytes; sent += block.byteLength) await sendWithBackPressure(stream, block)
    await all
    await stream.close()
    return (performance.now() - started) / 1000
  }

  it('a stranger\'s circuit carries its rate and no more, and still completes (no limit the peers see)', { timeout: 180_000 }, async () => {
    const source = await client('127.0.0.7')
    const total = 4 * RATE
    const before = gate().meteredBytes
    const seconds = await relayed(source, holder, total)
    assert.ok(gate().meteredBytes - before >= total, 'the circuit was metered')
    // a bucket starts with one second of burst, and a paused side still receives what its
    // window granted (256 KiB each way): the rest takes at least (total - burst - slack) / rate;
    // on loopback the bytes would otherwise pass in well under a second
    const floor = (total - RATE - RATE) / RATE - 0.5
    assert.ok(seconds >= floor, `${total} bytes took ${seconds.toFixed(2)} s through the relay, under the ${floor} s its rate allows`)
    assert.ok(gate().pauses > 0)
  })

  it('a circuit between peers the relay knows is not metered', { timeout: 180_000 }, async () => {
    const friend = await client('127.0.0.8', true)
    const before = gate().meteredBytes
    await relayed(friend, trusted, 2 * RATE)
    assert.equal(gate().meteredBytes, before)
  })

  it('a stranger whose slot a known peer takes loses its relayed connections with it', { timeout: 180_000 }, async () => {
    const source = await client('127.0.0.9')
    await holder.handle(SINK, async (stream) => { for await (const _ of stream) { /* reads */ } }, { force: true })
    const circuit = relay.getMultiaddrs()[0]!.encapsulate(`/p2p-circuit/p2p/${holder.peerId.toString()}`)
    const stream = await source.dialProtocol(circuit, SINK, { signal: AbortSignal.timeout(20_000) })
    await sendWithBackPressure(stream, randomBytes(1024))
    // the relay is full (holder, and the two known peers): one more known peer takes the holder's slot
    assert.equal(await decided(await client('127.0.0.10', true)), true)
    assert.equal(gate().reservationsEvicted, 3)
    assert.equal(await decided(await client('127.0.0.11', true)), false, 'known peers never take each other\'s slots')
    assert.equal(reserved(holder), false)
    await waitFor(() => stream.status !== 'open', { what: 'the evicted stranger\'s relayed stream to end', timeoutMs: 20_000 })
  })
})
