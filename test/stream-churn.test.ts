import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { STORE_PROTOCOL, STREAM_WINDOW_BYTES } from '../src/adapters/libp2p/wire/constants.ts'
import { encodeVarint } from '../src/adapters/libp2p/wire/framed-stream.ts'
import { FIRST_STREAM_WINDOW_BYTES } from '../src/adapters/libp2p/create-host.ts'
import { startBudgetedNodeProcess, type BudgetedNodeProcess } from './helpers/budgeted-node-process.ts'

const MIB = 2 ** 20
/** what a peer may send on a new stream before the node grants more */
const FIRST_WINDOW = FIRST_STREAM_WINDOW_BYTES

/**
 * Measured (bench hostile partial, profiled): the ids of one host reopening every
 * store stream the node refused made it spend 80 % of a core, half of it decrypting
 * bytes it then dropped. A stream refused over budget went on being read through its
 * 2 s grace (a whole 1 MiB frame), and nothing bounded how often strangers opened them.
 */
describe('stream churn: refused streams are not read, and strangers\' new streams are paced per subnet', () => {
  const nodes: BudgetedNodeProcess[] = []
  const held: Stream[] = []
  after(async () => {
    for (const stream of held) stream.abort(new Error('done'))
    for (const node of nodes) await node.stop()
  })

  /** The node's first answer on `stream`, or 'waiting' when it says nothing for `ms` (it admitted the stream and waits for a frame). */
  async function answerOf (stream: Stream, ms = 1500): Promise<'answered' | 'closed' | 'waiting'> {
    return Promise.race([
      new Promise<'answered' | 'closed'>((resolve) => {
        stream.addEventListener('message', () => resolve('answered'), { once: true })
        stream.addEventListener('close', () => resolve('closed'), { once: true })
      }),
      sleep(ms).then(() => 'waiting' as const)
    ])
  }

  it('attack: a stream refused over budget reads no more than the window its peer had unasked', { timeout: 60_000 }, async () => {
    // the strangers of one subnet may hold one store stream (a quarter of the strangers' 6)
    const node = await startBudgetedNodeProcess({ budgets: { maxStreams: 16, maxStreamsPerSubnet: 8, maxStreamsPerPeer: 8 } })
    nodes.push(node)
    const target = peerIdFromString(node.peerId)
    const host = await node.client()
    const first = await host.dialProtocol(target, STORE_PROTOCOL)
    held.push(first)
    first.send(encodeVarint(1000))
    assert.equal(await answerOf(first), 'waiting', 'the first stream is admitted')

    const refused = await host.dialProtocol(target, STORE_PROTOCOL)
    held.push(refused)
    const answer = answerOf(refused, 10_000)
    refused.send(encodeVarint(MIB))
    refused.send(new Uint8Array(MIB - 1))
    assert.equal(await answer, 'answered', 'the second is refused (BUSY)')
    // the refusal's grace period (2 s) lets the peer read BUSY; before, the node read on through it
    await sleep(1500)
    const unsent = refused.writeBufferLength
    assert.ok(unsent >= MIB - FIRST_WINDOW - 64 * 1024, `the node read ${MIB - unsent} bytes of a refused stream`)
  })

  it('attack: the strangers of one subnet open at most a burst of streams, then the rate; another subnet and a trusted peer are not slowed', { timeout: 60_000 }, async () => {
    const trustedKey = await generateKeyPair('Ed25519')
    const burst = 6
    // QULOUD_TEST_BUDGETS (JSON) overrides, to see the attack without the rate ({"strangerStreamBurst":1000})
    const node = await startBudgetedNodeProcess({
      known: [peerIdFromPrivateKey(trustedKey).toString()],
      budgets: { strangerStreamsPerSecond: 1, strangerStreamBurst: burst, ...JSON.parse(process.env.QULOUD_TEST_BUDGETS ?? '{}') }
    })
    nodes.push(node)
    const target = peerIdFromString(node.peerId)
    const openMany = async (host: Libp2p, peer: PeerId, n: number): Promise<string[]> => Promise.all(Array.from({ length: n }, async () => {
      try {
        const stream = await host.dialProtocol(peer, STORE_PROTOCOL)
        held.push(stream)
        stream.send(encodeVarint(1000)) // a frame begun: an admitted stream waits for the rest
        return await answerOf(stream)
      } catch {
        return 'reset' // refused before it could send
      }
    }))

    // two ids of one host: they share its subnet's streams
    const attackers = [await node.client(undefined, '127.0.0.3'), await node.client(undefined, '127.0.0.3')]
    const outcomes = (await Promise.all(attackers.map(async (host) => openMany(host, target, 10)))).flat()
    const admitted = outcomes.filter((o) => o === 'waiting').length
    assert.ok(admitted <= burst + 2, `${admitted} of 20 streams admitted from one subnet (burst ${burst}, 1 a second)`)
    // over the rate a stream is reset where the muxer makes it, before negotiation (before, BUSY after it)
    assert.equal(outcomes.filter((o) => o === 'reset' || o === 'closed').length, 20 - admitted, 'the others are reset')

    const neighbour = await node.client(undefined, '127.0.0.4')
    assert.deepEqual(await openMany(neighbour, target, 4), ['waiting', 'waiting', 'waiting', 'waiting'], 'another subnet keeps its own streams')
    const trusted = await node.client(trustedKey, '127.0.0.3')
    assert.deepEqual(await openMany(trusted, target, 4), ['waiting', 'waiting', 'waiting', 'waiting'], 'a trusted peer on the attackers\' subnet is not paced')

    // the rate refills, one a second, once the refused streams are paid for: each cost
    // its subnet one too, down to a burst of debt (7 s to be back at one). CI saw the
    // debt outlast 8 s once under load; the likely cause (not confirmed): streams still
    // queued on a held-back connection are counted only when the node reads it again, up
    // to 10 s later. So a few more tries, each repaid by the rate before the next
    await sleep(8000)
    let again = (await openMany(attackers[0]!, target, 1))[0]
    for (let tries = 0; again !== 'waiting' && tries < 4; tries++) {
      await sleep(3000)
      again = (await openMany(attackers[0]!, target, 1))[0]
    }
    assert.equal(again, 'waiting', 'the subnet is let in again once its debt is paid')
  })

  it('attack: streams past 32 on one connection reach the budgets and the rate instead of being reset by libp2p uncounted', { timeout: 60_000 }, async () => {
    // measured under bench hostile partial: of 9,204 streams in 10 s, 406 reached the store handler
    const node = await startBudgetedNodeProcess({ budgets: { strangerStreamsPerSecond: 1, strangerStreamBurst: 40 } })
    nodes.push(node)
    const target = peerIdFromString(node.peerId)
    const host = await node.client(undefined, '127.0.0.3')
    const outcomes = await Promise.all(Array.from({ length: 60 }, async () => {
      try {
        const stream = await host.dialProtocol(target, STORE_PROTOCOL)
        held.push(stream)
        stream.send(encodeVarint(1000))
        return await answerOf(stream, 3000)
      } catch {
        return 'reset' as const
      }
    }))
    const count = (o: string): number => outcomes.filter((x) => x === o).length
    // the burst (less the connection's own identify stream, counted too), and one a second
    // more while they open; the rest are reset by the rate (before, BUSY), not by libp2p at 32
    assert.ok(count('waiting') >= 36 && count('waiting') <= 45, `${count('waiting')} admitted against a burst of 40, ${count('answered')} refused BUSY, ${count('closed') + count('reset')} reset`)
  })

  it('attack: a connection that opens streams over its subnet\'s rate is not read until the subnet may open one again', { timeout: 60_000 }, async () => {
    // QULOUD_TEST_BUDGETS as above; without the hold-back the ping comes back at once
    const node = await startBudgetedNodeProcess({ budgets: { strangerStreamsPerSecond: 1, strangerStreamBurst: 4, ...JSON.parse(process.env.QULOUD_TEST_BUDGETS ?? '{}') } })
    nodes.push(node)
    const target = peerIdFromString(node.peerId)
    const attacker = await node.client(undefined, '127.0.0.3')
    const neighbour = await node.client(undefined, '127.0.0.4')
    const ping = async (host: Libp2p): Promise<number> => {
      const started = performance.now()
      await (host.services as { ping: { ping: (peer: PeerId) => Promise<number> } }).ping.ping(target)
      return performance.now() - started
    }
    await ping(attacker)
    await ping(neighbour)
    // the connection's identify and ping streams took two of a burst of four: of three
    // streams at once, the third is refused, its connection held back ~2 s
    const dialsAt = performance.now()
    await Promise.all(Array.from({ length: 3 }, async () => {
      try {
        const stream = await attacker.dialProtocol(target, STORE_PROTOCOL)
        held.push(stream)
        stream.send(encodeVarint(1000))
      } catch {
        // the third: reset over the rate
      }
    }))
    await sleep(100)
    const answered = async (host: Libp2p): Promise<number> => { await ping(host); return performance.now() - dialsAt }
    // counted from before the refusal, so a loaded machine only makes it longer; without
    // the hold-back the answer comes ~150 ms after the dials
    const [heldMs, freeMs] = await Promise.all([answered(attacker), answered(neighbour)])
    assert.ok(heldMs >= 1000, `the attacker's connection answered a ping ${Math.round(heldMs)} ms after its streams`)
    assert.ok(freeMs < heldMs, `another subnet's connection is read (${Math.round(freeMs)} ms after)`)
    await sleep(1500) // a stream to give again
    assert.ok(await ping(attacker) < 5_000, 'and the held connection is read again')
  })
})

// the window a new stream may fill unasked is yamux's, not our larger read window
assert.ok(FIRST_WINDOW < STREAM_WINDOW_BYTES)
