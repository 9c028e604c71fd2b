// The NAT lab (test/helpers/netns-home-lab.ts; root only), two measurements in one run:
//
// 1. Throughput: `quloud put` and `quloud get` of one file from b1 (home B, symmetric NAT)
//    to one holder at a time: boot on the public segment (direct: b1 dials out), e1 behind
//    a UPnP router (b1 meets it through the relay before e1's mapping is confirmed, then the
//    connection is upgraded to a direct one), a1 in home A (relayed: two NATs, no forward).
//    Ratios are of the direct figures of the same run. No link is shaped.
// 2. Connections under a put of many small files (BENCH_FILES, 1,000) from b1 to three
//    holders: the most TCP connections open at once on b1's uplink and on its router's
//    NAT table, and new ones per minute, against the home-network caps maxConnections 96
//    and newConnectionsPerMinute 60.
//   npm run bench -- nat          (BENCH_MIB=32 BENCH_FILES=1000)
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { buildHomeLab, LAB_FORWARDED_PORT, LAB_PORT, labPublic, startLabNode } from '../test/helpers/netns-home-lab.ts'
import { labUnavailable, upnpUnavailable } from '../test/helpers/netns-lab.ts'
import type { NetnsNode } from '../test/helpers/netns-node.ts'
import { tempDir } from '../test/helpers/temp-dir.ts'
import { waitFor } from '../test/helpers/wait-for.ts'

const MIB = 1024 * 1024
const size = Number(process.env.BENCH_MIB ?? 32) * MIB
const fileCount = Number(process.env.BENCH_FILES ?? 1000)
const HOME_MAX_CONNECTIONS = 96
const HOME_NEW_PER_MINUTE = 60
const UPGRADE_LOGS = 'libp2p:dcutr*,quloud:direct-upgrade*'

interface PeerRow { peerId: string, via: string[], liveness: { reachable: boolean } }

const unavailable = labUnavailable()
if (unavailable !== undefined) {
  console.log(`nat: skipped: ${unavailable}`)
  process.exit(0)
}
const noUpnp = upnpUnavailable()

const dir = await tempDir('quloud-natbench-')
const lab = await buildHomeLab({ upnp: noUpnp === undefined ? dir.path : undefined })
const nodes: NetnsNode[] = []
const federation = `natbench-${randomBytes(4).toString('hex')}`
const large = { capacity: '4GiB' }
const small = { capacity: '64KB' }

async function start (name: string, args: string[], config: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): Promise<NetnsNode> {
  const node = await startLabNode(lab, dir.path, federation, name, ['--no-mdns', ...args], config, env)
  nodes.push(node)
  return node
}

async function row (from: NetnsNode, to: NetnsNode): Promise<PeerRow | undefined> {
  return (await from.json<{ peers: PeerRow[] }>(['peers'])).peers.find((p) => p.peerId === to.peerId)
}

/** Puts and gets a fresh file from `owner`; resolves to MB/s of each and the holders. */
async function transfer (owner: NetnsNode, label: string): Promise<{ put: number, get: number, holders: string[] }> {
  const file = join(dir.path, `${label}.bin`)
  await writeFile(file, randomBytes(size))
  let started = performance.now()
  const put = await owner.cli(['put', file, '--replicas', '1', '--json'], 900_000)
  const putSeconds = (performance.now() - started) / 1000
  if (put.code !== 0) throw new Error(`put failed: ${put.stderr}`)
  const [outcome] = JSON.parse(put.stdout) as Array<{ id: string, holders: string[] }>
  const restored = join(dir.path, `${label}.out`)
  started = performance.now()
  const get = await owner.cli(['get', outcome!.id, '-o', restored], 900_000)
  const getSeconds = (performance.now() - started) / 1000
  if (get.code !== 0) throw new Error(`get failed: ${get.stderr}`)
  if (!(await readFile(restored)).equals(await readFile(file))) throw new Error('restored bytes differ')
  await rm(restored)
  await rm(file)
  return { put: size / 1e6 / putSeconds, get: size / 1e6 / getSeconds, holders: outcome!.holders }
}

/** Waits until `owner` sees `holder` live and every other node of `gone` not live. */
async function onlyHolder (owner: NetnsNode, holder: NetnsNode, gone: NetnsNode[]): Promise<void> {
  await waitFor(async () => {
    if ((await row(owner, holder))?.liveness.reachable !== true) return undefined
    for (const g of gone) if ((await row(owner, g))?.liveness.reachable === true) return undefined
    return true
  }, { what: `${owner.name} to see ${holder.name} live and ${gone.map((g) => g.name).join(', ')} gone`, timeoutMs: 180_000, intervalMs: 1000 })
}

/**
 * Samples, every 250 ms while `body` runs, the TCP connections open on `role`'s uplink
 * and its router's conntrack table, and counts new TCP connections in and out of the
 * uplink (conntrack NEW, so a retransmitted SYN counts once), those to `gone` (stopped
 * nodes the lab's 2 s liveness timer keeps redialling) apart.
 */
async function connectionsDuring<T> (role: string, router: string, gone: string[], body: () => Promise<T>): Promise<{ result: T, maxOpen: number, maxNat: number, opened: { out: number, in: number, gone: number, private: number }, seconds: number }> {
  const fresh = ['-p', 'tcp', '-m', 'conntrack', '--ctstate', 'NEW', '-m', 'comment', '--comment']
  await lab.exec(role, ['iptables', '-I', 'OUTPUT', '-o', 'eth0', ...fresh, 'quloud-bench-out'])
  await lab.exec(role, ['iptables', '-I', 'INPUT', '-i', 'eth0', ...fresh, 'quloud-bench-in'])
  for (const ip of gone) await lab.exec(role, ['iptables', '-I', 'OUTPUT', '-o', 'eth0', '-d', ip, ...fresh, 'quloud-bench-gone'])
  // dials of other homes' LAN (and CGNAT) addresses leave through the router too
  for (const net of ['192.168.0.0/16', '100.64.0.0/10']) await lab.exec(role, ['iptables', '-I', 'OUTPUT', '-o', 'eth0', '-d', net, ...fresh, 'quloud-bench-private'])
  let maxOpen = 0
  let maxNat = 0
  let sampling = true
  const sampler = (async () => {
    while (sampling) {
      const sockets = await lab.exec(role, ['ss', '-Htn', 'state', 'established']).catch(() => '')
      maxOpen = Math.max(maxOpen, sockets.split('\n').filter((l) => l.trim() !== '' && !/127\.0\.0\.1/.test(l)).length)
      maxNat = Math.max(maxNat, Number((await lab.exec(router, ['cat', '/proc/sys/net/netfilter/nf_conntrack_count']).catch(() => '0')).trim()))
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
  })()
  const started = performance.now()
  let result: T
  try {
    result = await body()
  } finally {
    sampling = false
    await sampler
  }
  const seconds = (performance.now() - started) / 1000
  const rules = [...(await lab.exec(role, ['iptables', '-nvxL', 'OUTPUT'])).split('\n'), ...(await lab.exec(role, ['iptables', '-nvxL', 'INPUT'])).split('\n')]
  const count = (comment: string): number => rules.filter((l) => l.includes(`/* ${comment} */`)).reduce((sum, l) => sum + Number(l.trim().split(/\s+/)[0]), 0)
  return { result, maxOpen, maxNat, opened: { out: count('quloud-bench-out'), in: count('quloud-bench-in'), gone: count('quloud-bench-gone'), private: count('quloud-bench-private') }, seconds }
}

function howDirect (owner: NetnsNode, holder: NetnsNode): string {
  const lines = [...owner.stderr.split('\n'), ...holder.stderr.split('\n')]
  if (lines.some((l) => /direct upgrade to \S+ succeeded/.test(l) && l.includes(holder.peerId))) return 'relayed, then upgraded when the holder announced its mapped address'
  if (lines.some((l) => /(unilateral connection upgrade to|DCUtR to) \S+ succeeded/.test(l))) return 'relayed, then upgraded by DCUtR'
  return 'dialled directly, never relayed'
}

async function run (): Promise<void> {
  const boot = await start('boot', ['--listen', `/ip4/0.0.0.0/tcp/${LAB_PORT}`, '--dht-mode', 'server'], large)
  const relay = await start('relay', ['--listen', `/ip4/0.0.0.0/tcp/${LAB_PORT}`, '--relay-server'], small)
  const bootstrap = ['--bootstrap', `/ip4/${labPublic(10)}/tcp/${LAB_PORT}/p2p/${boot.peerId}`, `/ip4/${labPublic(11)}/tcp/${LAB_PORT}/p2p/${relay.peerId}`]
  const natted = ['--listen', `/ip4/0.0.0.0/tcp/${LAB_PORT}`, '/p2p-circuit', ...bootstrap]
  const b1 = await start('b1', natted, small, { DEBUG: UPGRADE_LOGS })
  await onlyHolder(b1, boot, [])

  const direct = await transfer(b1, 'direct')
  const directPath = (await row(b1, boot))?.via.join(' ')
  if (direct.holders[0] !== boot.peerId) throw new Error('placement chose another holder than boot')
  await boot.stop()

  // the upgraded holder: e1 behind UPnP (or, without miniupnpd, a2 behind home A's port forward)
  const upgradedHolder = noUpnp === undefined
    ? await start('e1', [...natted, '--upnp'], large, { DEBUG: UPGRADE_LOGS })
    : await start('a2', ['--listen', `/ip4/0.0.0.0/tcp/${LAB_FORWARDED_PORT}`, '--public-address', `/ip4/${labPublic(21)}/tcp/${LAB_FORWARDED_PORT}`, ...bootstrap], large, { DEBUG: UPGRADE_LOGS })
  await onlyHolder(b1, upgradedHolder, [boot])
  // the holder is dialled directly only once a peer confirmed its mapping (AutoNAT)
  await waitFor(async () => (await upgradedHolder.json<{ network: { reachability: { state: string } } }>(['status'])).network.reachability.state === 'public' ? true : undefined,
    { what: `${upgradedHolder.name}'s public address to be confirmed`, timeoutMs: 180_000, intervalMs: 1000 })
  await waitFor(async () => {
    const via = (await row(b1, upgradedHolder))?.via ?? []
    return via.length > 0 && via.every((a) => !a.includes('/p2p-circuit')) ? true : undefined
  }, { what: `b1's connection to ${upgradedHolder.name} to be direct`, timeoutMs: 60_000, intervalMs: 1000 }).catch(async () => {
    console.log(`b1 holds no direct connection to ${upgradedHolder.name} after 60 s (via: ${JSON.stringify((await row(b1, upgradedHolder))?.via)}); measuring the path as it is`)
  })
  const upgraded = await transfer(b1, 'upgraded')
  const upgradedVia = (await row(b1, upgradedHolder))?.via ?? []
  const upgradedPath = `${upgradedVia.join(' ') || 'no connection open after the transfer'}; ${upgradedVia.some((a) => a.includes('/p2p-circuit')) ? 'still relayed: no upgrade in this run' : howDirect(b1, upgradedHolder)}`
  if (upgraded.holders[0] !== upgradedHolder.peerId) throw new Error(`placement chose another holder than ${upgradedHolder.name}`)
  await upgradedHolder.stop()

  const a1 = await start('a1', natted, large)
  await onlyHolder(b1, a1, [boot, upgradedHolder])
  const relayed = await transfer(b1, 'relayed')
  const relayedPath = (await row(b1, a1))?.via.join(' ')
  if (relayed.holders[0] !== a1.peerId) throw new Error('placement chose another holder than a1')

  console.log(`file ${size / MIB} MiB, replicas 1, owner b1 (symmetric NAT)`)
  console.log(`direct   (b1 -> boot: ${directPath}):  put ${direct.put.toFixed(1)} MB/s, get ${direct.get.toFixed(1)} MB/s`)
  console.log(`upgraded (b1 -> ${upgradedHolder.name}: ${upgradedPath}):  put ${upgraded.put.toFixed(1)} MB/s, get ${upgraded.get.toFixed(1)} MB/s`)
  console.log(`relayed  (b1 -> a1: ${relayedPath}):  put ${relayed.put.toFixed(1)} MB/s, get ${relayed.get.toFixed(1)} MB/s`)
  console.log(`upgraded / direct: put ${(upgraded.put / direct.put).toFixed(2)}x, get ${(upgraded.get / direct.get).toFixed(2)}x`)
  console.log(`relayed / direct:  put ${(relayed.put / direct.put).toFixed(2)}x, get ${(relayed.get / direct.get).toFixed(2)}x`)

  // many small files to three holders: a1 (relayed), c1 (relayed), d1 (relayed, behind CGNAT)
  const c1 = await start('c1', natted, large)
  const d1 = await start('d1', natted, large)
  for (const holder of [a1, c1, d1]) await onlyHolder(b1, holder, [])
  const album = join(dir.path, 'album')
  await mkdir(album)
  for (let i = 0; i < fileCount; i++) await writeFile(join(album, `photo-${String(i).padStart(4, '0')}.jpg`), randomBytes(2048 + (i % 7) * 512))
  const gone = [labPublic(10), labPublic(noUpnp === undefined ? 25 : 21)]
  const { result: put, maxOpen, maxNat, opened, seconds } = await connectionsDuring('b1', 'rb', gone, async () => b1.cli(['put', album, '--replicas', '2', '--json'], 3_600_000))
  if (put.code !== 0) throw new Error(`put of ${fileCount} files failed: ${put.stderr}`)
  const [outcome] = JSON.parse(put.stdout) as Array<{ files?: number, underReplicated?: boolean }>
  const perMinute = (opened.out - opened.gone + opened.in) / (seconds / 60)
  console.log(`put of ${outcome?.files ?? fileCount} small files (2-5.5 KiB, replicas 2) from b1 to a1, c1, d1 in ${seconds.toFixed(0)} s${outcome?.underReplicated === true ? ' (under-replicated)' : ''}`)
  console.log(`  TCP connections open on b1's uplink: at most ${maxOpen} (cap maxConnections ${HOME_MAX_CONNECTIONS}: ${(maxOpen / HOME_MAX_CONNECTIONS).toFixed(2)}x)`)
  console.log(`  entries in home B's router NAT table (conntrack): at most ${maxNat}`)
  console.log(`  new TCP connections on b1's uplink: ${opened.out} out (${opened.gone} of them redials of the two stopped holders every 2 s, the lab's liveness timer; 30 s by default), ${opened.private} to private or CGNAT addresses (other homes' LANs, unreachable from here), ${opened.in} in; without the redials ${opened.out - opened.gone + opened.in} in ${(seconds / 60).toFixed(1)} min = ${perMinute.toFixed(1)}/min (cap newConnectionsPerMinute ${HOME_NEW_PER_MINUTE}: ${(perMinute / HOME_NEW_PER_MINUTE).toFixed(2)}x)`)
}

try {
  await run()
} finally {
  for (const node of nodes) await node.stop().catch(() => {})
  await lab.destroy()
  await dir.cleanup()
}
