import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { explained as explainedBy } from './helpers/explained.ts'
import { buildHomeLab, LAB_FORWARDED_PORT as FORWARDED_PORT, LAB_PORT as PORT, labPublic, startLabNode } from './helpers/netns-home-lab.ts'
import { labUnavailable, type NetnsLab, upnpUnavailable } from './helpers/netns-lab.ts'
import type { NetnsNode } from './helpers/netns-node.ts'
import { tempDir } from './helpers/temp-dir.ts'
import { waitFor } from './helpers/wait-for.ts'

/**
 * Internet federation from home, in network namespaces (test/helpers/netns-home-lab.ts:
 * a public segment with bootstrap and relay, home A behind an endpoint-independent NAT
 * with a port forward to a2 and a 10 Mbit/s uplink, home B behind a symmetric NAT, home C
 * behind an endpoint-independent one, home D behind its router and a carrier-grade NAT,
 * home E behind a router with a UPnP IGD, miniupnpd).
 *
 * The "internet" segment is 11.0.0.0/16, each host in a /24 of its own (netns-home-lab.ts),
 * public unicast space, because libp2p never
 * offers, dials back or maps a documentation-range address. The namespaces have no link
 * to the machine's own network: no packet can leave the lab. That documentation, CGNAT
 * and private ranges are never called public is pinned in test/address-kinds.test.ts;
 * here the lab range is called public only where a peer really dialled it back.
 */
const unavailable = labUnavailable()
const noUpnp = unavailable ?? upnpUnavailable()
const UPLINK = '10mbit'
const UPLINK_BYTES_PER_S = 10_000_000 / 8
const LIMIT_UPLOAD = '600KB'
const LIMIT_DOWNLOAD = '1MB'
/** libp2p's DCUtR and our direct upgrade log each attempt and its outcome. */
const UPGRADE_LOGS = 'libp2p:dcutr*,quloud:direct-upgrade*'

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
  let lab: NetnsLab
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

  async function start (name: string, args: string[], config: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = {}): Promise<NetnsNode> {
    const n = await startLabNode(lab, dir.path, federation, name, args, config, env)
    nodes.set(name, n)
    return n
  }

  before(async () => {
    dir = await tempDir('quloud-natlab-')
    if (noUpnp !== undefined) console.log(`# NAT lab without home E (UPnP): ${noUpnp}`)
    lab = await buildHomeLab({ uplink: UPLINK, upnp: noUpnp === undefined ? dir.path : undefined })
    const small = { capacity: '64KB' }
    const boot = await start('boot', ['--listen', `/ip4/0.0.0.0/tcp/${PORT}`, '--dht-mode', 'server', '--no-mdns'], small)
    const relay = await start('relay', ['--listen', `/ip4/0.0.0.0/tcp/${PORT}`, '--relay-server', '--no-mdns'], small)
    const bootstrap = [`/ip4/${labPublic(10)}/tcp/${PORT}/p2p/${boot.peerId}`, `/ip4/${labPublic(11)}/tcp/${PORT}/p2p/${relay.peerId}`]
    const natted = ['--listen', `/ip4/0.0.0.0/tcp/${PORT}`, '/p2p-circuit', '--bootstrap', ...bootstrap]
    await start('a1', [...natted, '--mdns', '--limit-upload', LIMIT_UPLOAD, '--limit-download', LIMIT_DOWNLOAD], {}, { DEBUG: 'libp2p:dcutr*' })
    await start('b1', [...natted, '--no-mdns'], {}, { DEBUG: UPGRADE_LOGS })
    await start('c1', [...natted, '--no-mdns'], {}, { DEBUG: UPGRADE_LOGS })
    await start('d1', [...natted, '--no-mdns'])
    if (noUpnp === undefined) await start('e1', [...natted, '--no-mdns', '--upnp'], {}, { DEBUG: `${UPGRADE_LOGS},libp2p:upnp-nat*` })
    // a2 knows no bootstrap node: it can only learn of the federation from its LAN neighbour a1 by mDNS
    await start('a2', ['--listen', `/ip4/0.0.0.0/tcp/${FORWARDED_PORT}`, '--public-address', `/ip4/${labPublic(21)}/tcp/${FORWARDED_PORT}`, '--mdns'], small)
  })

  after(async () => {
    for (const n of nodes.values()) await n.stop().catch(() => {})
    await lab?.destroy()
    await dir?.cleanup()
  })

  it('the NATed nodes find each other through the bootstrap node and the DHT, and reserve a relay slot', explained(async () => {
    await seesLive('a1', ['b1'])
    await seesLive('b1', ['a1'])
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
    assert.ok(outcome!.holders.length === 1 && ['b1', 'c1', 'd1', 'e1'].includes(holder), `only nodes in other homes have room: the put crossed at least a1's NAT (${holder})`)
    const restored = join(dir.path, 'restored.bin')
    const receivedBefore = (await node('a1').json<Status>(['status'])).network.traffic.received
    const started = performance.now()
    const get = await node('a1').cli(['get', outcome!.id, '-o', restored], 600_000)
    const seconds = (performance.now() - started) / 1000
    assert.equal(get.code, 0, get.stderr)
    const { network } = await node('a1').json<Status>(['status'])
    const received = network.traffic.received - receivedBefore
    console.log(`# NAT lab get under --limit-download ${LIMIT_DOWNLOAD}: ${(received / 1e6).toFixed(1)} MB on Quloud streams in ${seconds.toFixed(1)} s, ${(received / seconds / 1e3).toFixed(0)} kB/s`)
    assert.ok(received >= data.length, `counted ${received} bytes`)
    // a paused stream still lets in what the sender had window for: a window over the limit at most
    assert.ok(received / seconds <= network.traffic.download! * 1.25, `received ${received} bytes in ${seconds} s`)
    assert.equal(createHash('sha256').update(await readFile(restored)).digest('hex'), createHash('sha256').update(data).digest('hex'))
    console.log(`# NAT lab put and get a1 -> ${holder}: a1 (endpoint-independent NAT) <-> b1 (symmetric NAT): ${await pathOf('a1', 'b1')}; a1 <-> c1 (endpoint-independent): ${await pathOf('a1', 'c1')}`)
  }))

  it(`a put over a ${UPLINK} uplink (tc) to two holders completes and stays within --limit-upload ${LIMIT_UPLOAD}`, explained(async () => {
    await seesLive('a1', ['b1', 'c1'])
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
    const holders = outcome!.holders.map(nameOf)
    assert.ok(holders.length === 2 && holders.every((h) => ['b1', 'c1', 'd1', 'e1'].includes(h)), holders.join(' '))
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
    assert.match(human.stdout, /Traffic: {4}upload at most 586 KiB\/s, download at most 977 KiB\/s/, human.stdout)
  }))

  it(`without a limit, a put over a ${UPLINK} uplink to three holders through the relay completes: no holder's frame deadline trips`, explained(async () => {
    await seesLive('c1', ['a1', 'b1', 'd1'])
    const file = join(dir.path, 'album.bin')
    const size = 4 * 1024 * 1024
    await writeFile(file, randomBytes(size))
    const started = performance.now()
    const put = await node('c1').cli(['put', file, '--replicas', '3', '--json'], 600_000)
    const seconds = (performance.now() - started) / 1000
    assert.equal(put.code, 0, put.stderr)
    const [outcome] = JSON.parse(put.stdout) as Array<{ holders: string[], underReplicated?: boolean }>
    const holders = outcome!.holders.map(nameOf)
    assert.ok(new Set(holders).size === 3 && holders.every((h) => ['a1', 'b1', 'd1', 'e1'].includes(h)), holders.join(' '))
    assert.notEqual(outcome!.underReplicated, true)
    console.log(`# NAT lab unlimited put over ${UPLINK} to 3 holders: ${(3 * size / 1e6).toFixed(1)} MB of chunks in ${seconds.toFixed(1)} s (${(3 * size / seconds / 1e3).toFixed(0)} kB/s; ${(3 * size / seconds / 3 / 1024).toFixed(0)} KiB/s per holder against the 16 KiB/s floor)`)
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

  it('behind carrier-grade NAT too (two NATs), a node joins, reserves a relay slot and is reachable only through it', explained(async () => {
    await seesLive('d1', ['a1'])
    const { network } = await waitFor(async () => {
      const s = await node('d1').json<Status>(['status'])
      return s.network.relay.length > 0 ? s : undefined
    }, { what: 'd1 to hold a relay reservation', timeoutMs: 120_000, intervalMs: 1000 })
    assert.equal(network.reachability.state, 'relayed', network.reachability.why)
    console.log(`# NAT lab path a1 <-> d1 (home router behind carrier-grade NAT): ${await pathOf('a1', 'd1')}`)
  }))

  it('mDNS: a2, which knows no bootstrap node, finds its LAN neighbour a1 on home A\'s LAN', explained(async () => {
    const row = await waitFor(async () => {
      const r = await peerRow('a2', 'a1')
      return r?.connected === true ? r : undefined
    }, { what: 'a2 to connect to a1', timeoutMs: 120_000, intervalMs: 1000 })
    assert.ok(row.via.some((a) => a.startsWith('/ip4/192.168.1.10/')), `a2 reaches a1 on the LAN: ${row.via.join(' ')}`)
  }))

  it('reachability: the NATed nodes say "relayed" and AutoNAT confirmed nothing; the port-forwarded node is dialled back and says "public"', explained(async () => {
    for (const name of ['a1', 'b1']) {
      const { network } = await node(name).json<Status>(['status'])
      assert.equal(network.autonat.enabled, true)
      assert.equal(network.autonat.publiclyReachable, false, name)
      assert.equal(network.reachability.state, 'relayed', `${name}: ${network.reachability.why}`)
      assert.ok(network.observed.every((o) => !o.verified), `${name}: AutoNAT confirmed ${JSON.stringify(network.observed)}`)
      // libp2p ignores observed TCP addresses (its dials never leave from the listening port),
      // so nothing from the lab's public range is even a candidate, let alone called reachable
      assert.ok(network.reachability.addresses.every((a) => a.includes('/p2p-circuit')), network.reachability.addresses.join(' '))
      assert.ok(network.observed.every((o) => !o.address.startsWith(`/ip4/${labPublic(name === 'a1' ? 21 : 22)}/`)), JSON.stringify(network.observed))
      const human = await node(name).cli(['status'])
      assert.match(human.stdout, /Reachable: {2}through a relay only/, human.stdout)
      assert.doesNotMatch(human.stdout, /Reachable: {2}yes/)
    }
    // from the public segment: a libp2p listener answers multistream-select through home A's
    // port forward, and nothing answers at home B's router, which forwards nothing
    assert.match(await multistreamHello('boot', labPublic(21), FORWARDED_PORT), /\/multistream\/1\.0\.0/)
    await assert.rejects(multistreamHello('boot', labPublic(22), PORT))
    // a2's forward is confirmed by an AutoNAT v2 dial-back from outside home A
    const forwarded = `/ip4/${labPublic(21)}/tcp/${FORWARDED_PORT}`
    const network = await publicAt('a2', forwarded, 'AutoNAT to confirm a2\'s port forward')
    assert.ok(network.announced.some((a) => a.startsWith(forwarded)), network.announced.join(' '))
    assert.match((await node('a2').cli(['status'])).stdout, /Reachable: {2}yes/)
    console.log(`# NAT lab AutoNAT: a1, b1 (behind NAT) relayed, observed ${JSON.stringify((await node('a1').json<Status>(['status'])).network.observed.map((o) => o.address))} unconfirmed; a2 (port forward) public at ${forwarded}`)
  }))

  it('a NATed node and the port-forwarded one end up on a direct connection through the forward', explained(async () => {
    const row = await waitFor(async () => {
      const r = await peerRow('c1', 'a2')
      return r?.connected === true && r.via.some((a) => !a.includes('/p2p-circuit')) ? r : undefined
    }, { what: 'c1 to hold a direct connection to a2', timeoutMs: 180_000, intervalMs: 1000 })
    assert.ok(row.via.some((a) => a.startsWith(`/ip4/${labPublic(21)}/tcp/${FORWARDED_PORT}`)), row.via.join(' '))
    console.log(`# NAT lab path c1 (endpoint-independent NAT) <-> a2 (port forward): ${await pathOf('c1', 'a2')}; ${howDirect('c1', 'a2')}`)
  }))

  it('UPnP: a node behind a router with an IGD maps its port, is dialled from the internet and says "public"', { skip: noUpnp }, explained(async () => {
    const mapped = `/ip4/${labPublic(25)}/tcp/${PORT}`
    await publicAt('e1', mapped, 'e1 to map its port by UPnP and AutoNAT to confirm it')
    assert.match(await multistreamHello('boot', labPublic(25), PORT), /\/multistream\/1\.0\.0/)
    assert.match(await lab.exec('re', ['nft', 'list', 'chain', 'inet', 'filter', 'prerouting_miniupnpd']), new RegExp(`dport ${PORT} dnat .*192\\.168\\.5\\.10`))
    const human = await node('e1').cli(['status'])
    assert.match(human.stdout, /Reachable: {2}yes/, human.stdout)
    assert.match(human.stdout, /UPnP on/, human.stdout)
    // b1 met e1 through the relay before e1's mapping was confirmed; once e1 announces it,
    // the relayed connection is replaced by a direct one (b1 dials out through its NAT)
    await seesLive('b1', ['e1'])
    const row = await waitFor(async () => {
      const r = await peerRow('b1', 'e1')
      return r?.connected === true && r.via.length > 0 && r.via.every((a) => a.startsWith(mapped)) ? r : undefined
    }, { what: 'b1\'s connection to e1 to be direct only', timeoutMs: 120_000, intervalMs: 1000 })
    console.log(`# NAT lab UPnP: e1 mapped ${mapped}; path b1 (symmetric NAT) <-> e1 (UPnP): ${row.via.join(' ')}; ${howDirect('b1', 'e1')}`)
  }))

  /** Waits until `name`'s status says `public` at exactly `address`, and returns its network status. */
  async function publicAt (name: string, address: string, what: string): Promise<Status['network']> {
    const { network } = await waitFor(async () => {
      const s = await node(name).json<Status>(['status'])
      return s.network.reachability.state === 'public' ? s : undefined
    }, { what, timeoutMs: 180_000, intervalMs: 1000 })
    assert.deepEqual(network.reachability.addresses.map((a) => a.split('/p2p/')[0]), [address], network.reachability.why)
    assert.equal(network.autonat.publiclyReachable, true)
    return network
  }

  /** Which mechanism made `from`'s connection to `to` direct, from their upgrade logs. */
  function howDirect (from: string, to: string): string {
    const lines = (n: string): string[] => node(n).stderr.split('\n')
    const [a, b] = [node(from).peerId, node(to).peerId]
    if (lines(from).some((l) => /direct upgrade to \S+ succeeded/.test(l) && l.includes(b))) return `${from} was relayed to ${to}, then upgraded (${from} dialled the address ${to} announced later)`
    if ([...lines(from), ...lines(to)].some((l) => /unilateral connection upgrade to \S+ succeeded/.test(l) && (l.includes(a) || l.includes(b)))) return 'relayed first, upgraded by DCUtR (unilateral)'
    if ([...lines(from), ...lines(to)].some((l) => /DCUtR to \S+ succeeded/.test(l) && (l.includes(a) || l.includes(b)))) return 'relayed first, upgraded by a DCUtR hole punch'
    return `${from} dialled ${to}'s public address directly, no relay in between`
  }

  /** Opens TCP from `role` to ip:port and says multistream-select's hello; resolves to the answer. */
  async function multistreamHello (role: string, ip: string, port: number): Promise<string> {
    // generous: at load 30 on two cores a node's event loop can take seconds to answer
    return lab.exec(role, ['timeout', '30', 'bash', '-c', `exec 3<>/dev/tcp/${ip}/${port} && printf '\\x13/multistream/1.0.0\\n' >&3 && head -c 20 <&3`])
  }

  async function seesLive (from: string, others: string[]): Promise<void> {
    for (const other of others) {
      await waitFor(async () => (await peerRow(from, other))?.liveness.reachable, { what: `${from} to see ${other} live`, timeoutMs: 180_000, intervalMs: 1000 })
    }
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
