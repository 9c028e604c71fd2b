// put and get of one big file between `quloud start` daemons (owner + 2 storage
// nodes, one process each), each as a ratio of a raw libp2p stream (Noise + Yamux,
// real back-pressure) moving the same bytes between two processes, and Helia's
// bitswap fetch of the same file as the peer to beat. The three are interleaved in
// rounds so that a busy shared machine slows them alike. Goal: >= 0.6x, ahead of Helia.
//   npm run bench -- owner       (BENCH_MIB=200, BENCH_ROUNDS=2; BENCH_PROF=DIR profiles the daemons)
import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { tempDir } from '../test/helpers/temp-dir.ts'
import { cpuSecondsOf, rssOf, secondsSince, startDaemonFederation } from './daemon-federation.ts'
import { heliaFetch } from './helia-peer.ts'
import { median, rawDownload, rawUpload, spawnReady, startRawPeer, stopChildren, writeRandomFile } from './raw-stream-transfer.ts'
import type { ChildProcess } from 'node:child_process'

const MIB = 1024 * 1024
const fileMib = Number(process.env.BENCH_MIB ?? 200)
const rounds = Number(process.env.BENCH_ROUNDS ?? 2)
const bytes = fileMib * MIB
const dir = await tempDir('quloud-bench-owner-')
const children: ChildProcess[] = []

// with BENCH_PROF, when each transfer ran (monotonic µs, the clock of V8's CPU
// profiles), so bench/profile-summary.ts can split each daemon's profile by transfer
const windows: Array<{ name: string, startUs: number, endUs: number }> = []

async function timed (work: () => Promise<unknown>, name = ''): Promise<number> {
  const started = process.hrtime.bigint()
  await work()
  windows.push({ name, startUs: Number(started / 1000n), endUs: Number(process.hrtime.bigint() / 1000n) })
  return bytes / 1e6 / secondsSince(started)
}

/**
 * Runs `work` and says how many CPU ms per MiB the first pid (the owner, or this
 * process for a raw stream) and the others together (the storage side) spent on it.
 */
async function cpuPerMib (pids: number[], work: () => Promise<unknown>): Promise<{ owner: number, storage: number }> {
  const before = await Promise.all(pids.map(cpuSecondsOf))
  await work()
  const used = (await Promise.all(pids.map(cpuSecondsOf))).map((after, i) => (after - before[i]!) * 1000 / fileMib)
  return { owner: used[0]!, storage: used.slice(1).reduce((a, b) => a + b, 0) }
}

try {
  const file = join(dir.path, 'big.bin')
  await writeRandomFile(file, fileMib)
  const raw = await startRawPeer(children)
  const helia = await spawnReady(children, './helia-peer.ts', [file])
  const { host } = raw
  const federation = await startDaemonFederation(join(dir.path, 'nodes'), 2)
  const rows: Record<'rawUp' | 'put' | 'rawDown' | 'get' | 'helia', number[]> = { rawUp: [], put: [], rawDown: [], get: [], helia: [] }
  const cpu: Record<'rawUp' | 'put' | 'rawDown' | 'get', Array<{ owner: number, storage: number }>> = { rawUp: [], put: [], rawDown: [], get: [] }
  const daemons = [federation.owner, ...federation.storage].map((node) => node.child.pid!)
  const rawPids = [process.pid, children[0]!.pid!]
  try {
    for (let round = 0; round < rounds; round++) {
      cpu.rawUp.push(await cpuPerMib(rawPids, async () => { rows.rawUp.push(await timed(() => rawUpload(host, raw.peerId, file, bytes))) }))
      let id = ''
      cpu.put.push(await cpuPerMib(daemons, async () => {
        rows.put.push(await timed(async () => { id = JSON.parse(await federation.quloud(['put', file, '--replicas', '1', '--json']))[0].id }, `put ${round + 1}`))
      }))
      cpu.rawDown.push(await cpuPerMib(rawPids, async () => { rows.rawDown.push(await timed(() => rawDownload(host, raw.peerId, bytes))) }))
      const restored = join(dir.path, 'restored.bin')
      cpu.get.push(await cpuPerMib(daemons, async () => {
        rows.get.push(await timed(() => federation.quloud(['get', id, '-o', restored]), `get ${round + 1}`))
      }))
      await rm(restored)
      await federation.quloud(['rm', id, '--yes'])
      rows.helia.push(await timed(async () => {
        const got = await heliaFetch(helia.addrs, helia.cid)
        if (got !== bytes) throw new Error(`helia fetched ${got} of ${bytes} bytes`)
      }))
      console.error(`round ${round + 1}: raw up ${rows.rawUp[round]!.toFixed(0)}, put ${rows.put[round]!.toFixed(0)}, raw down ${rows.rawDown[round]!.toFixed(0)}, get ${rows.get[round]!.toFixed(0)}, helia ${rows.helia[round]!.toFixed(0)} MB/s`)
    }
    const owner = await rssOf(federation.owner.child.pid!)
    // each transfer against the raw stream in its own round, then the median over rounds
    const ratio = (of: number[], to: number[]): number => median(of.map((v, i) => v / to[i]!))
    const row = (name: string, of: number[], to: number[]): string =>
      `| ${name} | ${median(of).toFixed(0)} | ${ratio(of, to).toFixed(2)}x |`
    console.log(`${fileMib} MiB file, ${rounds} interleaved rounds, medians; every process on 127.0.0.1, Noise + Yamux over TCP`)
    console.log('| transfer | MB/s | vs raw stream (same round) |')
    console.log('|---|---:|---:|')
    console.log(`| raw libp2p stream, upload (ceiling for put) | ${median(rows.rawUp).toFixed(0)} | |`)
    console.log(`| raw libp2p stream, download (ceiling for get) | ${median(rows.rawDown).toFixed(0)} | |`)
    console.log(row('quloud put --replicas 1 (daemon to daemon)', rows.put, rows.rawUp))
    console.log(row('quloud get (daemon to daemon, written to disk)', rows.get, rows.rawDown))
    console.log(row('Helia bitswap fetch (1 MiB raw leaves, memory)', rows.helia, rows.rawDown))
    console.log('| CPU ms per MiB (all threads, user + system) | owner side | storage side |')
    console.log('|---|---:|---:|')
    for (const [name, kind] of [['raw stream upload', 'rawUp'], ['put', 'put'], ['raw stream download', 'rawDown'], ['get', 'get']] as const) {
      console.log(`| ${name} | ${median(cpu[kind].map((c) => c.owner)).toFixed(1)} | ${median(cpu[kind].map((c) => c.storage)).toFixed(1)} |`)
    }
    console.log(`owner daemon: ${owner.rssMb.toFixed(0)} MB resident at the end, ${owner.peakMb.toFixed(0)} MB peak`)
  } finally {
    await host.stop()
    await federation.stop()
    if (process.env.BENCH_PROF !== undefined) await writeFile(join(process.env.BENCH_PROF, 'windows.json'), JSON.stringify({ mib: fileMib, windows }))
  }
} finally {
  await stopChildren(children)
  await dir.cleanup()
}
