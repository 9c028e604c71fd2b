import assert from 'node:assert/strict'
import { connect, type Socket } from 'node:net'
import { after, before, describe, it } from 'node:test'
import type { Libp2p } from '@libp2p/interface'
import { startBareHost } from '../src/assembly/host.ts'

/**
 * The connection lock-out of the hostile-federation issue: 12 raw TCP sockets that never
 * finish the handshake, about one new one a second, kept every honest newcomer out
 * (libp2p holds at most 10 pending inbound connections, 10 s each). With two pending
 * handshakes per remote host, the attacker's host holds two slots and an honest peer on
 * another address still connects. (The attacker binds 127.0.0.2: Linux routes all of
 * 127/8 to loopback, so no traffic leaves the machine.)
 */
describe('half-open sockets from one host do not lock honest peers out', () => {
  let node: Libp2p
  let honest: Libp2p
  const sockets: Socket[] = []

  before(async () => {
    node = await startBareHost()
    honest = await startBareHost()
  })
  after(async () => {
    for (const socket of sockets) socket.destroy()
    await honest.stop()
    await node.stop()
  })

  it('an honest peer connects and pings while one host keeps opening half-open sockets', async () => {
    const address = node.getMultiaddrs().find((a) => a.toString().startsWith('/ip4/127.0.0.1/'))!
    const port = Number(/\/tcp\/(\d+)/.exec(address.toString())![1])
    const open = (): Socket => {
      const socket = connect({ host: '127.0.0.1', port, localAddress: '127.0.0.2' })
      socket.on('error', () => {})
      sockets.push(socket)
      return socket
    }
    // five a second (libp2p's per-host rate), kept up while the honest peer dials
    const pressure = setInterval(open, 200)
    try {
      await new Promise((resolve) => setTimeout(resolve, 3000))
      const rtt = await (honest.services as { ping: { ping: (a: unknown, o: { signal: AbortSignal }) => Promise<number> } }).ping.ping(address, { signal: AbortSignal.timeout(6000) })
      assert.ok(typeof rtt === 'number', 'the honest peer got through')
      const stillOpen = sockets.filter((s) => !s.destroyed && s.readyState === 'open').length
      assert.ok(stillOpen <= 4, `${stillOpen} of the attacker's ${sockets.length} sockets are held open by the node`)
    } finally {
      clearInterval(pressure)
    }
  })
})
