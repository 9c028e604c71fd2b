import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { explained as explainedBy } from './helpers/explained.ts'
import { labUnavailable, NetnsLab, sweepStaleLabs } from './helpers/netns-lab.ts'
import { NetnsNode, quloudIn } from './helpers/netns-node.ts'
import { initNode } from './helpers/node-process.ts'
import { tempDir } from './helpers/temp-dir.ts'
import { waitFor } from './helpers/wait-for.ts'

/**
 * Internet federation from home, in network namespaces (nothing reaches the machine's
 * own network; addresses are documentation and private ranges):
 *
 *   public segment 198.51.100.0/24 (bridge in ns "pub"):
 *     boot  198.51.100.10  bootstrap node, DHT server
 *     relay 198.51.100.11  circuit relay v2 server
 *     ra    198.51.100.21  home A's router: endpoint-independent NAT, port forward 4102 -> a2
 *     rb    198.51.100.22  home B's router: symmetric NAT (--random-fully)
 *   home A 192.168.1.0/24: a1 .10 (behind NAT only), a2 .11 (port forward, --public-address)
 *     rc    198.51.100.23  home C's router: endpoint-independent NAT
 *   home B 192.168.2.0/24: b1 .10
 *   home C 192.168.3.0/24: c1 .10
 *
 * Home A's uplink is shaped to 10 Mbit/s with tc.
 */
const unavailable = labUnavailable()
const PORT = 4101
const FORWARDED_PORT = 4102
const UPLINK = '10mbit'
const UPLINK_BYTES_PER_S = 10_000_000 / 8
const LIMIT_UPLOAD = '600KB'

interface Status {
  peerId: string
  addresses: string[]
  network: {
    announced: string[]
    observed: Array<{ address: string, verified: boolean }>
    relay: string[]
    autonat: { enabled: boolean, publiclyReachable: boolean }
    reachability: { state: string, addresses: string[], why: string }
    traffic: { upload: number | null, download: number | null, sent: number, received: number }
    peers: { connected: number, live: number }
  }
}

interface PeerRow { peerId: string, connected: boolean, via: string[], liveness: { reachable: boolean } }

describe('NAT lab: two homes behind NAT federate through bootstrap, DHT and a relay', { skip: unavailable }, () => {
  const lab = new NetnsLab()
  const federation = `natlab-${randomBytes(4).toString('hex')}`
  const nodes = new Map<string, NetnsNode>()
  let dir: Awaited<ReturnType<typeof tempDir>>

  const node = (name: string): NetnsNode => nodes.get(name)!
  const nameOf = (peerId: string): string => [...nodes.values()].find((n) => n.peerId === peerId)?.name ?? peerId

  const explained = (body: () => Promise<void>): (() => Promise<void>) => explainedBy(body, explain)

  async function explain (): Promise<string> {
    const parts: string[] = []
    for (const n of nodes.values()) {
      const peers = await n.json<{ peers: PeerRow[] }>(['peers']).then((p) => p.peers.map((r) => `${nameOf(r.peerId)}${r.connected ? ' connected' : ''}${r.liveness.reachable ? ' reachable' : ''}`).join(', '), (e: Error) => e.message)
      parts.push(`--- ${n.name}: peers ${peers}\n${n.stderr.split('\n').slice(-60).join('\n')}`)
    }
    return parts.join('\n')
  }

  async function build (): Promise<void> {
    await sweepStaleLabs()
    for (const role of ['pub', 'boot', 'relay', 'ra', 'rb', 'rc', 'a1', 'a2', 'b1', 'c1']) await lab.addNamespace(role)
    await lab.bridge('pub', 'br0')
    for (const [role, ip] of [['boot', '10'], ['relay', '11']] as const) {
      await lab.link({ role, ifname: 'eth0', address: `198.51.100.${ip}/24` }, { role: 'pub', ifname: role, bridge: 'br0' })
    }
    for (const [router, ip, lan] of [['ra', '21', '1'], ['rb', '22', '2'], ['rc', '23', '3']] as const) {
      await lab.link({ role: router, ifname: 'wan', address: `198.51.100.${ip}/24` }, { role: 'pub', ifname: router, bridge: 'br0' })
      await lab.bridge(router, 'lan', `192.168.${lan}.1/24`)
    }
    for (const [host, router, lan, ip] of [['a1', 'ra', '1', '10'], ['a2', 'ra', '1', '11'], ['b1', 'rb', '2', '10'], ['c1', 'rc', '3', '10']] as const) {
      await lab.link({ role: host, ifname: 'eth0', address: `192.168.${lan}.${ip}/24` }, { role: router, ifname: host, bridge: 'lan' })
      await lab.defaultRoute(host, `192.168.${lan}.1`)
    }
    await lab.natRouter('ra', { wan: 'wan', lan: 'lan', kind: 'endpoint-independent' })
    await lab.natRouter('rb', { wan: 'wan', lan: 'lan', kind: 'symmetric' })
    await lab.natRouter('rc', { wan: 'wan', lan: 'lan', kind: 'endpoint-independent' })
    await lab.portForward('ra', { wan: 'wan', wanPort: FORWARDED_PORT, to: `192.168.1.11:${FORWARDED_PORT}` })
    await lab.shape('ra', 'wan', UPLINK)
  }

  async function start (name: string, args: string[], config: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = {}): Promise<NetnsNode> {
    const dataDir = join(dir.path, name)
    await initNode(dataDir, {
      federation,
      announceInterval: 2000,
      livenessInterval: 2000,
      pingTimeout: 4000,
      discoveryInterval: 2000,
      ...config
    })
    const n = await NetnsNode.start(name, lab.ns(name), dataDir, args, env)
    nodes.set(name, n)
    return n
  }

  before(async () => {
    dir = await tempDir('quloud-natlab-')
    await build()
    const small = { capacity: '64KB' }
    const boot = await start('boot', ['--listen', `/ip4/0.0.0.0/tcp/${PORT}`, '--dht-mode', 'server', '--no-mdns'], small)
    const relay = await start('relay', ['--listen', `/ip4/0.0.0.0/tcp/${PORT}`, '--relay-server', '--no-mdns'], small)
    const bootstrap = [`/ip4/198.51.100.10/tcp/${PORT}/p2p/${boot.peerId}`, `/ip4/198.51.100.11/tcp/${PORT}/p2p/${relay.peerId}`]
    const natted = ['--listen', `/ip4/0.0.0.0/tcp/${PORT}`, '/p2p-circuit', '--bootstrap', ...bootstrap]
    await start('a1', [...natted, '--mdns', '--limit-upload', LIMIT_UPLOAD], {}, { DEBUG: 'libp2p:dcutr*' })
    await start('b1', [...natted, '--no-mdns'])
    await start('c1', [...natted, '--no-mdns'], {}, { DEBUG: 'libp2p:dcutr*' })
    // a2 knows no bootstrap node: it can only learn of the federation from its LAN neighbour a1 by mDNS
    await start('a2', ['--listen', `/ip4/0.0.0.0/tcp/${FORWARDED_PORT}`, '--public-address', `/ip4/198.51.100.21/tcp/${FORWARDED_PORT}`, '--mdns'], small)
  })

  after(async () => {
    for (const n of nodes.values()) await n.stop().catch(() => {})
    await lab.destroy()
    await dir?.cleanup()
  })

  it('the NATed nodes find each other through the bootstrap node and the DHT, and reserve a relay slot', explained(async () => {
    for (const [from, to] of [['a1', 'b1'], ['b1', 'a1']] as const) {
      await waitFor(async () => {
        const peers = await node(from).json<{ peers: PeerRow[] }>(['peers'])
        return peers.peers.some((p) => p.peerId === node(to).peerId && p.liveness.reachable)
      }, { what: `${from} to see ${to} live`, timeoutMs: 180_000, intervalMs: 1000 })
    }
    for (const name of ['a1', 'b1']) {
      const status = await waitFor(async () => {
        const s = await node(name).json<Status>(['status'])
        return s.network.relay.length > 0 ? s : undefined
      }, { what: `${name} to hold a relay reservation`, timeoutMs: 120_000, intervalMs: 1000 })
      assert.ok(status.network.relay.every((a) => a.includes(node('relay').peerId)), status.network.relay.join(' '))
    }
  }))

  it('a store and a retrieve between the two homes succeed; the path each NAT type took is reported', explained(async () => {
    const file = join(dir.path, 'photo.bin')
    const data = randomBytes(3 * 1024 * 1024)
    await writeFile(file, data)
    const put = await node('a1').cli(['put', file, '--replicas', '1', '--json'], 600_000)
    assert.equal(put.code, 0, put.stderr)
    const [outcome] = JSON.parse(put.stdout) as Array<{ id: string, holders: string[] }>
    const holder = nameOf(outcome!.holders[0]!)
    assert.ok(outcome!.holders.length === 1 && ['b1', 'c1'].includes(holder), `only b1 and c1 have room: the put crossed two NATs (${holder})`)
    const restored = join(dir.path, 'restored.bin')
    const get = await node('a1').cli(['get', outcome!.id, '-o', restored], 600_000)
    assert.equal(get.code, 0, get.stderr)
    assert.equal(createHash('sha256').update(await readFile(restored)).digest('hex'), createHash('sha256').update(data).digest('hex'))
    console.log(`# NAT lab put and get a1 -> ${holder}: a1 (endpoint-independent NAT) <-> b1 (symmetric NAT): ${await pathOf('a1', 'b1')}; a1 <-> c1 (endpoint-independent): ${await pathOf('a1', 'c1')}`)
  }))

  it(`a put over a ${UPLINK} uplink (tc) to two holders completes and stays within --limit-upload ${LIMIT_UPLOAD}`, explained(async () => {
    const file = join(dir.path, 'video.bin')
    const size = 3 * 1024 * 1024
    await writeFile(file, randomBytes(size))
    const before = await lab.txBytes('a1', 'eth0')
    const sentBefore = (await node('a1').json<Status>(['status'])).network.traffic.sent
    const started = performance.now()
    const put = await node('a1').cli(['put', file, '--replicas', '2', '--json'], 600_000)
    const seconds = (performance.now() - started) / 1000
    assert.equal(put.code, 0, put.stderr)
    const [outcome] = JSON.parse(put.stdout) as Array<{ holders: string[] }>
    assert.deepEqual(outcome!.holders.map(nameOf).sort(), ['b1', 'c1'])
    const wire = await lab.txBytes('a1', 'eth0') - before
    const { network } = await node('a1').json<Status>(['status'])
    const quloud = network.traffic.sent - sentBefore
    const limit = network.traffic.upload!
    console.log(`# NAT lab shaped put: ${(2 * size / 1e6).toFixed(1)} MB of chunks in ${seconds.toFixed(1)} s; ` +
      `Quloud streams ${(quloud / seconds / 1e3).toFixed(0)} kB/s, wire (IP) ${(wire / seconds / 1e3).toFixed(0)} kB/s; limit ${(limit / 1e3).toFixed(0)} kB/s, uplink ${(UPLINK_BYTES_PER_S / 1e3).toFixed(0)} kB/s`)
    assert.ok(quloud >= 2 * size, `counted ${quloud} bytes`)
    // the CLI call starts before the first byte and ends after the last: the rate can only be lower than the limiter's
    assert.ok(quloud / seconds <= limit * 1.1, `Quloud streams sent ${quloud} bytes in ${seconds} s`)
    // on the wire: TCP/IP, Noise and yamux overhead and the node's other traffic (gossip, pings) on top
    assert.ok(wire / seconds <= limit * 1.25, `a1's uplink carried ${wire} bytes in ${seconds} s`)
    assert.ok(2 * size / seconds < UPLINK_BYTES_PER_S, 'the limiter, not tc, set the pace')
    const human = await node('a1').cli(['status'])
    assert.match(human.stdout, /Traffic: {4}upload at most 586 KiB\/s, download unlimited/, human.stdout)
  }))

  it('between two endpoint-independent NATs the nodes meet through the relay; DCUtR is tried and the path is reported', explained(async () => {
    await waitFor(async () => (await peerRow('c1', 'a1'))?.connected === true || (await peerRow('a1', 'c1'))?.connected === true ? true : undefined,
      { what: 'a1 and c1 to connect', timeoutMs: 180_000, intervalMs: 1000 })
    const path = await pathOf('a1', 'c1')
    const dcutr = [...node('a1').stderr.split('\n'), ...node('c1').stderr.split('\n')].filter((l) => /dcutr/i.test(l) && /attempt|unilateral|public|failed|success|connect/i.test(l)).slice(0, 6)
    console.log(`# NAT lab path a1 (endpoint-independent NAT) <-> c1 (endpoint-independent NAT): ${path}`)
    for (const line of dcutr) console.log(`#   ${line.slice(0, 240)}`)
    assert.notEqual(path, 'not connected')
  }))

  it('mDNS: a2, which knows no bootstrap node, finds its LAN neighbour a1 on home A\'s LAN', explained(async () => {
    const row = await waitFor(async () => {
      const r = await peerRow('a2', 'a1')
      return r?.connected === true ? r : undefined
    }, { what: 'a2 to connect to a1', timeoutMs: 120_000, intervalMs: 1000 })
    assert.ok(row.via.some((a) => a.startsWith('/ip4/192.168.1.10/')), `a2 reaches a1 on the LAN: ${row.via.join(' ')}`)
  }))

  it('reachability: the NATed nodes say "relayed" and AutoNAT confirmed nothing; the port-forwarded node is dialled from the internet', explained(async () => {
    for (const name of ['a1', 'b1']) {
      const { network } = await node(name).json<Status>(['status'])
      assert.equal(network.autonat.enabled, true)
      assert.equal(network.autonat.publiclyReachable, false, name)
      assert.equal(network.reachability.state, 'relayed', `${name}: ${network.reachability.why}`)
      assert.ok(network.observed.every((o) => !o.verified), `${name}: AutoNAT confirmed ${JSON.stringify(network.observed)}`)
      const human = await node(name).cli(['status'])
      assert.match(human.stdout, /Reachable: {2}through a relay only/, human.stdout)
      assert.doesNotMatch(human.stdout, /Reachable: {2}yes/)
    }
    // from the public segment: a libp2p listener answers multistream-select through home A's
    // port forward, and nothing answers at home B's router, which forwards nothing
    assert.match(await multistreamHello('boot', `198.51.100.21`, FORWARDED_PORT), /\/multistream\/1\.0\.0/)
    await assert.rejects(multistreamHello('boot', `198.51.100.22`, PORT))
    // the forwarded address is a documentation address: libp2p never confirms it and status says why it is not public
    const { network } = await node('a2').json<Status>(['status'])
    assert.equal(network.reachability.state, 'none')
    assert.match(network.reachability.why, /198\.51\.100\.21.*documentation/)
    assert.ok(network.announced.some((a) => a.startsWith(`/ip4/198.51.100.21/tcp/${FORWARDED_PORT}`)), network.announced.join(' '))
  }))

  /** Opens TCP from `role` to ip:port and says multistream-select's hello; resolves to the answer. */
  async function multistreamHello (role: string, ip: string, port: number): Promise<string> {
    return lab.exec(role, ['timeout', '10', 'bash', '-c', `exec 3<>/dev/tcp/${ip}/${port} && printf '\\x13/multistream/1.0.0\\n' >&3 && head -c 20 <&3`])
  }

  async function peerRow (from: string, to: string): Promise<PeerRow | undefined> {
    return (await node(from).json<{ peers: PeerRow[] }>(['peers'])).peers.find((p) => p.peerId === node(to).peerId)
  }

  /** How `from`'s connections to `to` go: relayed, direct, or both. */
  async function pathOf (from: string, to: string): Promise<string> {
    const via = (await peerRow(from, to))?.via ?? []
    if (via.length === 0) return 'not connected'
    return via.map((a) => a.includes('/p2p-circuit') ? `relayed (${a.split('/p2p-circuit')[0]})` : `direct (${a})`).join(', ')
  }
})
