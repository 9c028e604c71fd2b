import assert from 'node:assert/strict'
import { connect, type Socket } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Libp2p } from '@libp2p/interface'
import { startBareHost } from '../src/assembly/host.ts'
import { dialingFrom } from './helpers/budgeted-node-process.ts'

/**
 * The other half of test/pending-handshakes.test.ts: a host's two pending slots come
 * back when its sockets close or fail their handshake. Were they never given back, two
 * broken handshakes (a flaky link, a port scan) would lock that address out for good,
 * and an attacker could lock out a NAT's every user with two sockets. (127.0.0.3 is
 * loopback: nothing leaves the machine.)
 */
describe('pending handshake slots are given back', () => {
  let node: Libp2p
  const hosts: Libp2p[] = []
  const sockets: Socket[] = []

  before(async () => { node = await startBareHost() })
  after(async () => {
    for (const socket of sockets) socket.destroy()
    for (const host of hosts) await Promise.resolve(host.stop()).catch(() => {})
    await node.stop()
  })

  const address = (): string => node.getMultiaddrs().find((a) => a.toString().startsWith('/ip4/127.0.0.1/'))!.toString()

  async function dialsFrom (localAddress: string): Promise<boolean> {
    const host = await dialingFrom(localAddress)
    hosts.push(host)
    try {
      await host.dial(node.getMultiaddrs()[0]!, { signal: AbortSignal.timeout(4000) })
      return true
    } catch {
      return false
    } finally {
      await host.stop()
    }
  }

  async function halfOpen (localAddress: string, garbage: boolean): Promise<Socket> {
    const port = Number(/\/tcp\/(\d+)/.exec(address())![1])
    const socket = connect({ host: '127.0.0.1', port, localAddress })
    socket.on('error', () => {})
    sockets.push(socket)
    await new Promise((resolve) => socket.once('connect', resolve))
    if (garbage) socket.write('this is not multistream-select\n')
    return socket
  }

  it('a host holding two half-open sockets is refused, and gets in once they close', { timeout: 60_000 }, async () => {
    const held = [await halfOpen('127.0.0.3', false), await halfOpen('127.0.0.3', false)]
    await sleep(200)
    assert.equal(await dialsFrom('127.0.0.3'), false, 'the third handshake from the host is refused while two are pending')
    for (const socket of held) socket.destroy()
    // the node notices the close on its next read of the socket: allow it a moment
    let admitted = false
    for (let i = 0; i < 20 && !admitted; i++) {
      await sleep(250)
      admitted = await dialsFrom('127.0.0.3')
    }
    assert.ok(admitted, 'the host connects once its half-open sockets are gone')
  })

  it('handshakes that fail give their slots back', { timeout: 60_000 }, async () => {
    for (let round = 0; round < 1; round++) {
      const failed = [await halfOpen('127.0.0.4', true), await halfOpen('127.0.0.4', true)]
      await Promise.all(failed.map(async (s) => new Promise((resolve) => { if (s.destroyed) resolve(undefined); else s.once('close', resolve) })))
    }
    assert.equal(await dialsFrom('127.0.0.4'), true, 'two failed handshakes later, the host still connects')
  })
})
