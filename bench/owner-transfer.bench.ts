// put and get throughput of one big file across 3 node processes (owner A, storage
// nodes B and C), next to a raw libp2p stream of the same size measured in the same
// run, and the putting daemon's peak RSS. Goals: >= 60% of raw, RSS < 200 MB for 1 GiB.
//   bash scripts/node.sh bench/run.ts owner        (BENCH_FILE_MIB=1024 by default)
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { open, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { NodeProcess, runQuloud } from '../test/helpers/node-process.ts'
import { startClientHost } from '../test/helpers/storage-node.ts'
import { tempDir } from '../test/helpers/temp-dir.ts'
import { RAW_SINK } from './fixtures/storage-node-process.ts'
import { sendWithBackPressure } from '../src/adapters/libp2p/wire/send-with-back-pressure.ts'

const MIB = 1024 * 1024
const fileMib = Number(process.env.BENCH_FILE_MIB ?? 1024)
const dir = await tempDir('quloud-bench-owner-')
const federation = `bench-${randomBytes(4).toString('hex')}`
const nodes: NodeProcess[] = []

function seconds (from: bigint): number {
  return Number(process.hrtime.bigint() - from) / 1e9
}

async function peakRssMb (pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024
}

try {
  const file = join(dir.path, 'big.bin')
  const handle = await open(file, 'w')
  for (let i = 0; i < fileMib; i++) await handle.write(randomBytes(MIB))
  await handle.close()

  const names = ['a', 'b', 'c']
  for (const name of names) {
    const init = await runQuloud(['init', '--json', '--data-dir', join(dir.path, name)])
    if (init.code !== 0) throw new Error(init.stderr)
  }
  nodes.push(await NodeProcess.start({ dataDir: join(dir.path, 'b'), args: ['--federation', federation, '--no-mdns', '--capacity', '64GiB'] }))
  const b = JSON.parse((await runQuloud(['status', '--json', '--data-dir', join(dir.path, 'b')])).stdout)
  const bootstrap = ['--bootstrap', ...b.addresses.filter((a: string) => a.includes('127.0.0.1'))]
  for (const name of ['a', 'c']) nodes.push(await NodeProcess.start({ dataDir: join(dir.path, name), args: ['--federation', federation, '--no-mdns', '--capacity', '64GiB', ...bootstrap] }))
  const q = async (args: string[]) => {
    const result = await runQuloud([...args, '--data-dir', join(dir.path, 'a')], { timeoutMs: 3_600_000 })
    if (result.code !== 0) throw new Error(`quloud ${args[0]} failed: ${result.stderr}`)
    return result.stdout
  }
  for (let i = 0; JSON.parse(await q(['peers', '--json'])).live < 2; i++) {
    if (i > 120) throw new Error('the federation did not form')
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
  const owner = nodes[1]!
  const rssBefore = await peakRssMb(owner.child.pid!)

  // the ceiling: the same bytes over one raw libp2p stream (Noise + Yamux) between processes
  const sink = spawn(process.execPath, [fileURLToPath(new URL('./fixtures/storage-node-process.ts', import.meta.url))], { stdio: ['ignore', 'pipe', 'inherit'] })
  const remote = JSON.parse(await new Promise<string>((resolve) => createInterface({ input: sink.stdout! }).once('line', resolve)))
  const host = await startClientHost()
  const peer = peerIdFromString(remote.peerId)
  await host.peerStore.merge(peer, { multiaddrs: remote.addrs.map((a: string) => multiaddr(a)) })
  let started = process.hrtime.bigint()
  const stream = await host.dialProtocol(peer, RAW_SINK)
  const source = await open(file)
  const block = Buffer.alloc(MIB)
  for (let i = 0; i < fileMib; i++) {
    await source.read(block, 0, MIB, i * MIB)
    await sendWithBackPressure(stream, Buffer.from(block))
  }
  await stream.close()
  for await (const _ of stream) { /* the sink's byte count */ }
  const raw = fileMib * MIB / 1e6 / seconds(started)
  await source.close()
  await host.stop()
  sink.kill('SIGTERM')

  started = process.hrtime.bigint()
  const put1 = JSON.parse(await q(['put', file, '--replicas', '1', '--json']))
  const putOne = fileMib * MIB / 1e6 / seconds(started)
  const rssAfterPut = await peakRssMb(owner.child.pid!)

  started = process.hrtime.bigint()
  await q(['get', put1[0].id, '-o', join(dir.path, 'restored.bin')])
  const get = fileMib * MIB / 1e6 / seconds(started)
  await rm(join(dir.path, 'restored.bin'))
  await q(['rm', put1[0].id])

  started = process.hrtime.bigint()
  await q(['put', file, '--replicas', '2', '--json'])
  const putTwo = fileMib * MIB / 1e6 / seconds(started)

  console.log(`${fileMib} MiB file, 3 node processes on 127.0.0.1 (owner + 2 storage nodes)`)
  console.log('| transfer | MB/s of file | vs raw stream |')
  console.log('|---|---:|---:|')
  console.log(`| raw libp2p stream (ceiling) | ${raw.toFixed(0)} | |`)
  console.log(`| put --replicas 1 | ${putOne.toFixed(0)} | ${(100 * putOne / raw).toFixed(0)}% |`)
  console.log(`| get | ${get.toFixed(0)} | ${(100 * get / raw).toFixed(0)}% |`)
  console.log(`| put --replicas 2 (2x the bytes on the wire) | ${putTwo.toFixed(0)} | ${(100 * putTwo / raw).toFixed(0)}% |`)
  console.log(`owner daemon peak RSS: ${rssBefore.toFixed(0)} MB before, ${rssAfterPut.toFixed(0)} MB after put --replicas 1, ${(await peakRssMb(owner.child.pid!)).toFixed(0)} MB at the end`)
} finally {
  for (const node of nodes) await node.stop()
  await dir.cleanup()
}
