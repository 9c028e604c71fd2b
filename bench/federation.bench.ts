// Store and retrieve throughput between two nodes on loopback, next to a raw libp2p
// stream moving the same bytes in the same run (the ceiling). Goal: >= 70% of raw.
//   bash scripts/node.sh bench/run.ts federation      (BENCH_MIB=256 by default)
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { loadProofArtefacts } from '../src/adapters/proof/artefacts.ts'
import { SnarkjsProver } from '../src/adapters/proof/snarkjs-prover.ts'
import { SessionClient } from '../src/adapters/libp2p/protocols/session-client.ts'
import { StoreClient } from '../src/adapters/libp2p/protocols/store-client.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { commitmentToDecimal, poseidonCommitment } from '../src/domain/proofs/poseidon-commitment.ts'
import { startClientHost } from '../test/helpers/storage-node.ts'
import { RAW_SINK, RAW_SOURCE } from './fixtures/storage-node-process.ts'
import { sendWithBackPressure } from '../src/adapters/libp2p/wire/send-with-back-pressure.ts'

const MIB = 1024 * 1024
const total = Number(process.env.BENCH_MIB ?? 256)
const WINDOW = Number(process.env.BENCH_WINDOW ?? 8)

const child = spawn(process.execPath, [...(process.env.BENCH_CHILD_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CHILD_PROF] : []), fileURLToPath(new URL('./fixtures/storage-node-process.ts', import.meta.url))], { stdio: ['ignore', 'pipe', 'inherit'] })
const first = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve))
const remote = JSON.parse(first) as { peerId: string, addrs: string[] }
const peer = peerIdFromString(remote.peerId)
const host = await startClientHost()
await host.peerStore.merge(peer, { multiaddrs: remote.addrs.map((a) => multiaddr(a)) })
const prover = await SnarkjsProver.create({ artefacts: await loadProofArtefacts() })

// distinct chunks, generated before timing; ids computed outside the timed section too
const chunks = Array.from({ length: total }, () => randomBytes(MIB))
const ids = chunks.map((c) => chunkIdOf(c))
const secret = 1234567n
const commitment = poseidonCommitment(secret)

async function timed (fn: () => Promise<void>): Promise<number> {
  const started = process.hrtime.bigint()
  await fn()
  return Number(process.hrtime.bigint() - started) / 1e9
}

async function rawUpload (): Promise<void> {
  const stream = await host.dialProtocol(peer, RAW_SINK)
  for (const chunk of chunks) await sendWithBackPressure(stream, chunk)
  await stream.close()
  for await (const _ of stream) { /* byte count */ }
}

async function rawDownload (): Promise<void> {
  const stream = await host.dialProtocol(peer, RAW_SOURCE)
  stream.send(new TextEncoder().encode(String(total * MIB)))
  await stream.close()
  let got = 0
  for await (const part of stream) got += part.byteLength
  if (got < total * MIB) throw new Error(`raw download got ${got}`)
}

/** Runs `work(i)` for every chunk index with at most WINDOW in flight. */
async function windowed (work: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: WINDOW }, async () => {
    while (next < total) await work(next++)
  }))
}

async function store (): Promise<void> {
  const client = await StoreClient.open(host, peer)
  await windowed(async (i) => client.store({ chunkId: ids[i]!, commitment: commitmentToDecimal(commitment), deleteCommitment: commitmentToDecimal(commitment), data: chunks[i]! }))
  await client.close()
}

async function retrieve (): Promise<void> {
  const session = await SessionClient.open({ host, peer, action: 'read', secret, commitment, prover })
  await windowed(async (i) => session.get(ids[i]!))
  await session.close()
}

const results: Array<[string, number]> = []
for (const [name, fn] of [['raw upload', rawUpload], ['store', store], ['raw download', rawDownload], ['retrieve', retrieve]] as const) {
  const seconds = await timed(fn)
  results.push([name, total * MIB / 1e6 / seconds])
}
const rate = new Map(results)
console.log(`${total} MiB of 1 MiB chunks, one stream each, ${WINDOW} requests in flight, Noise + Yamux on 127.0.0.1`)
console.log('| transfer | MB/s | vs raw |')
console.log('|---|---:|---:|')
for (const [name, mbps] of results) {
  const raw = name === 'store' ? rate.get('raw upload') : name === 'retrieve' ? rate.get('raw download') : undefined
  console.log(`| ${name} | ${mbps.toFixed(0)} | ${raw === undefined ? '' : `${(100 * mbps / raw).toFixed(0)}%`} |`)
}
await prover.close()
await host.stop()
child.kill('SIGTERM')
await new Promise((resolve) => child.on('exit', resolve))
