// Erasure coding: the codec's encode and decode throughput per scheme (one stripe of
// 1 MiB shards at a time, decode with as many data shards missing as the scheme
// allows), then put and get of one file with --erasure between `quloud start` daemons
// (owner + BENCH_NODES storage nodes, one process each) against a raw libp2p stream
// moving the same bytes between two processes, and against --replicas 1, interleaved in
// rounds. Goals: >= 1,000 MB/s for the default scheme, >= 0.6x the raw stream.
//   npm run bench -- erasure     (BENCH_MIB=100, BENCH_ROUNDS=2, BENCH_NODES=6, BENCH_SCHEME=4+2;
//                                 BENCH_CODEC_ONLY=1: the codec table alone; BENCH_ERASURE_ONLY=1: no --replicas 1)
import { randomBytes } from 'node:crypto'
import type { ChildProcess } from 'node:child_process'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { ReedSolomonCodec } from '../src/adapters/erasure/reed-solomon-codec.ts'
import { parseScheme, type ErasureScheme } from '../src/domain/formats/stripe-layout.ts'
import { tempDir } from '../test/helpers/temp-dir.ts'
import { rssOf, secondsSince, startDaemonFederation } from './daemon-federation.ts'
import { median, rawDownload, rawUpload, startRawPeer, stopChildren, writeRandomFile } from './raw-stream-transfer.ts'

const MIB = 1024 * 1024
const fileMib = Number(process.env.BENCH_MIB ?? 100)
const rounds = Number(process.env.BENCH_ROUNDS ?? 2)
const storageNodes = Number(process.env.BENCH_NODES ?? 6)
const scheme = process.env.BENCH_SCHEME ?? '4+2'
const bytes = fileMib * MIB
/** Leaves out --replicas 1: a storage node grants a stranger 256 MiB, so larger files fit only coded. */
const erasureOnly = process.env.BENCH_ERASURE_ONLY !== undefined

/** MB/s of stripe data through `work`, over at least `minMs` and `minRuns` runs. */
async function throughput (stripeBytes: number, work: () => Promise<unknown>, minMs = 1000, minRuns = 20): Promise<number> {
  for (let i = 0; i < 3; i++) await work() // warm: contexts, thread pool
  const started = process.hrtime.bigint()
  let runs = 0
  while (runs < minRuns || secondsSince(started) * 1000 < minMs) {
    await work()
    runs++
  }
  return stripeBytes * runs / 1e6 / secondsSince(started)
}

async function codecTable (): Promise<void> {
  const codec = new ReedSolomonCodec()
  console.log('| scheme | encode MB/s | decode MB/s (m data shards missing) |')
  console.log('|---|---:|---:|')
  for (const s of [{ data: 2, parity: 1 }, { data: 4, parity: 2 }, { data: 4, parity: 4 }, { data: 6, parity: 6 }, { data: 10, parity: 4 }] satisfies ErasureScheme[]) {
    const stripe = new Uint8Array(randomBytes(s.data * MIB))
    const parity = await codec.encode(s, stripe)
    const missing = Math.min(s.parity, s.data)
    const shards = Array.from({ length: s.data + s.parity }, (_, j) => j < missing
      ? undefined
      : j < s.data ? stripe.subarray(j * MIB, (j + 1) * MIB) : parity.subarray((j - s.data) * MIB, (j - s.data + 1) * MIB))
    const encode = await throughput(stripe.byteLength, async () => codec.encode(s, stripe))
    const decode = await throughput(stripe.byteLength, async () => codec.decode(s, shards))
    console.log(`| ${s.data}+${s.parity} | ${encode.toFixed(0)} | ${decode.toFixed(0)} |`)
  }
}

async function transferTable (): Promise<void> {
  parseScheme(scheme)
  const dir = await tempDir('quloud-bench-erasure-')
  const children: ChildProcess[] = []
  try {
    const file = join(dir.path, 'big.bin')
    await writeRandomFile(file, fileMib)
    const raw = await startRawPeer(children)
    const { host } = raw
    const federation = await startDaemonFederation(join(dir.path, 'nodes'), storageNodes)
    const rows: Record<'rawUp' | 'put' | 'putCopy' | 'rawDown' | 'get' | 'getCopy', number[]> = { rawUp: [], put: [], putCopy: [], rawDown: [], get: [], getCopy: [] }
    const timed = async (work: () => Promise<unknown>): Promise<number> => {
      const started = process.hrtime.bigint()
      await work()
      return bytes / 1e6 / secondsSince(started)
    }
    const putAs = async (flags: string[], into: number[]): Promise<string> => {
      let id = ''
      into.push(await timed(async () => { id = JSON.parse(await federation.quloud(['put', file, ...flags, '--json']))[0].id }))
      return id
    }
    const getBack = async (id: string, into: number[]): Promise<void> => {
      const restored = join(dir.path, 'restored.bin')
      into.push(await timed(() => federation.quloud(['get', id, '-o', restored])))
      await rm(restored)
      await federation.quloud(['rm', id])
    }
    try {
      for (let round = 0; round < rounds; round++) {
        rows.rawUp.push(await timed(() => rawUpload(host, raw.peerId, file, bytes)))
        // one file stored at a time: a storage node grants a stranger its newcomer allowance only
        const coded = await putAs(['--erasure', scheme], rows.put)
        rows.rawDown.push(await timed(() => rawDownload(host, raw.peerId, bytes)))
        await getBack(coded, rows.get)
        if (!erasureOnly) await getBack(await putAs(['--replicas', '1'], rows.putCopy), rows.getCopy)
        console.error(`round ${round + 1}: raw up ${rows.rawUp[round]!.toFixed(0)}, put ${scheme} ${rows.put[round]!.toFixed(0)}, put x1 ${rows.putCopy[round]?.toFixed(0)}, ` +
          `raw down ${rows.rawDown[round]!.toFixed(0)}, get ${scheme} ${rows.get[round]!.toFixed(0)}, get x1 ${rows.getCopy[round]?.toFixed(0)} MB/s`)
      }
      const owner = await rssOf(federation.owner.child.pid!)
      const ratio = (of: number[], to: number[]): number => median(of.map((v, i) => v / to[i]!))
      const row = (name: string, of: number[], to: number[]): string => `| ${name} | ${median(of).toFixed(0)} | ${ratio(of, to).toFixed(2)}x |`
      console.log(`\n${fileMib} MiB file, ${rounds} interleaved rounds, medians; owner + ${storageNodes} storage daemons on 127.0.0.1, Noise + Yamux over TCP; MB/s of file bytes`)
      console.log('| transfer | MB/s | vs raw stream (same round) |')
      console.log('|---|---:|---:|')
      console.log(`| raw libp2p stream, upload | ${median(rows.rawUp).toFixed(0)} | |`)
      console.log(`| raw libp2p stream, download | ${median(rows.rawDown).toFixed(0)} | |`)
      console.log(row(`quloud put --erasure ${scheme}`, rows.put, rows.rawUp))
      if (!erasureOnly) console.log(row('quloud put --replicas 1', rows.putCopy, rows.rawUp))
      console.log(row(`quloud get, ${scheme} (k+1 shards asked per stripe)`, rows.get, rows.rawDown))
      if (!erasureOnly) console.log(row('quloud get, 1 replica', rows.getCopy, rows.rawDown))
      console.log(`owner daemon: ${owner.rssMb.toFixed(0)} MB resident at the end, ${owner.peakMb.toFixed(0)} MB peak`)
    } finally {
      await host.stop()
      await federation.stop()
    }
  } finally {
    await stopChildren(children)
    await dir.cleanup()
  }
}

await codecTable()
if (process.env.BENCH_CODEC_ONLY === undefined) await transferTable()
