// Throughput between homes in the NAT lab (test/helpers/netns-home-lab.ts; root only):
// `quloud put` and `quloud get` of one file from b1 (home B, symmetric NAT) to a holder
// reached directly (boot, on the public segment: b1 dials out through its NAT) and then
// to one reached only through the relay (a1, home A), as ratios of the direct figures
// measured in the same run. No link is shaped: the figures are what the relay path costs
// in CPU and hops. DCUtR did not upgrade any connection in the lab (docs/nat.md), so
// there is no hole-punched figure to give.
//   bash scripts/node.sh bench/run.ts nat          (BENCH_MIB=32)
import { randomBytes } from 'node:crypto'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { buildHomeLab, LAB_PORT, startLabNode } from '../test/helpers/netns-home-lab.ts'
import { labUnavailable } from '../test/helpers/netns-lab.ts'
import type { NetnsNode } from '../test/helpers/netns-node.ts'
import { tempDir } from '../test/helpers/temp-dir.ts'
import { waitFor } from '../test/helpers/wait-for.ts'

const MIB = 1024 * 1024
const size = Number(process.env.BENCH_MIB ?? 32) * MIB

interface PeerRow { peerId: string, via: string[], liveness: { reachable: boolean } }

const unavailable = labUnavailable()
if (unavailable !== undefined) {
  console.log(`nat: skipped: ${unavailable}`)
  process.exit(0)
}

const dir = await tempDir('quloud-natbench-')
const lab = await buildHomeLab()
const nodes: NetnsNode[] = []
const federation = `natbench-${randomBytes(4).toString('hex')}`
const large = { capacity: '4GiB' }
const small = { capacity: '64KB' }

async function start (name: string, args: string[], config: Record<string, unknown>): Promise<NetnsNode> {
  const node = await startLabNode(lab, dir.path, federation, name, ['--no-mdns', ...args], config)
  nodes.push(node)
  return node
}

async function row (from: NetnsNode, to: NetnsNode): Promise<PeerRow | undefined> {
  return (await from.json<{ peers: PeerRow[] }>(['peers'])).peers.find((p) => p.peerId === to.peerId)
}

/** Puts and gets a fresh file from `owner`; resolves to MB/s of each and the holder's connection path. */
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
  return { put: size / 1e6 / putSeconds, get: size / 1e6 / getSeconds, holders: outcome!.holders }
}

try {
  const boot = await start('boot', ['--listen', `/ip4/0.0.0.0/tcp/${LAB_PORT}`, '--dht-mode', 'server'], large)
  const relay = await start('relay', ['--listen', `/ip4/0.0.0.0/tcp/${LAB_PORT}`, '--relay-server'], small)
  const bootstrap = ['--bootstrap', `/ip4/198.51.100.10/tcp/${LAB_PORT}/p2p/${boot.peerId}`, `/ip4/198.51.100.11/tcp/${LAB_PORT}/p2p/${relay.peerId}`]
  const natted = ['--listen', `/ip4/0.0.0.0/tcp/${LAB_PORT}`, '/p2p-circuit', ...bootstrap]
  const b1 = await start('b1', natted, small)
  await waitFor(async () => (await row(b1, boot))?.liveness.reachable, { what: 'b1 to see boot', timeoutMs: 180_000, intervalMs: 1000 })

  const direct = await transfer(b1, 'direct')
  const directPath = (await row(b1, boot))?.via.join(' ')

  // the relayed holder: boot leaves, a1 (home A) is the only node with room
  await boot.stop()
  const a1 = await start('a1', natted, large)
  await waitFor(async () => {
    const [toA1, toBoot] = [await row(b1, a1), await row(b1, boot)]
    return toA1?.liveness.reachable === true && toBoot?.liveness.reachable !== true
  }, { what: 'b1 to see a1 live and boot gone', timeoutMs: 180_000, intervalMs: 1000 })
  const relayed = await transfer(b1, 'relayed')
  const relayedPath = (await row(b1, a1))?.via.join(' ')
  if (relayed.holders[0] !== a1.peerId || direct.holders[0] !== boot.peerId) throw new Error('placement chose other holders than the bench set up')

  console.log(`file ${size / MIB} MiB, replicas 1, owner b1 (symmetric NAT)`)
  console.log(`direct  (b1 -> boot: ${directPath}):  put ${direct.put.toFixed(1)} MB/s, get ${direct.get.toFixed(1)} MB/s`)
  console.log(`relayed (b1 -> a1: ${relayedPath}):  put ${relayed.put.toFixed(1)} MB/s, get ${relayed.get.toFixed(1)} MB/s`)
  console.log(`relayed / direct: put ${(relayed.put / direct.put).toFixed(2)}x, get ${(relayed.get / direct.get).toFixed(2)}x`)
  console.log('DCUtR: no connection was upgraded in the lab (documentation-range addresses are private to libp2p); no figure')
} finally {
  for (const node of nodes) await node.stop().catch(() => {})
  await lab.destroy()
  await dir.cleanup()
}
