// Honest service while a node is attacked: handshake latency (hello -> challenge ->
// proof -> ready) and retrieve throughput of an honest peer, without and then during a
// flood of curve-valid bogus proofs from another process (BENCH_ATTACK_IDS peer ids x
// BENCH_ATTACK_STREAMS streams, default 3 x 8), as ratios measured in the same run, and
// the node's peak RSS. Goal: >= 0.7x of the unattacked figures.
//   bash scripts/node.sh bench/run.ts hostile          (BENCH_MIB=64, BENCH_HANDSHAKES=20)
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
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

const MIB = 1024 * 1024
const total = Number(process.env.BENCH_MIB ?? 64)
const handshakes = Number(process.env.BENCH_HANDSHAKES ?? 20)
const WINDOW = 8

function spawnLine (script: string, args: string[] = []): { child: ChildProcess, line: () => Promise<string> } {
  const child = spawn(process.execPath, [fileURLToPath(new URL(script, import.meta.url)), ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
  const lines = createInterface({ input: child.stdout! })
  const queue: string[] = []
  const waiters: Array<(l: string) => void> = []
  lines.on('line', (l) => { const w = waiters.shift(); if (w !== undefined) w(l); else queue.push(l) })
  return { child, line: async () => queue.shift() ?? new Promise<string>((resolve) => waiters.push(resolve)) }
}

async function peakRssMb (pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  return Number(/VmHWM:\s+(\d+)/.exec(status)![1]) / 1024
}

const node = spawnLine('./fixtures/storage-node-process.ts')
const remote = JSON.parse(await node.line()) as { peerId: string, addrs: string[] }
const peer = peerIdFromString(remote.peerId)
const [host, prover] = await Promise.all([startClientHost(), SnarkjsProver.create({ artefacts: await loadProofArtefacts() })])
await host.peerStore.merge(peer, { multiaddrs: remote.addrs.map((a) => multiaddr(a)) })

// the file the honest peer reads back, stored before anything is timed
const secret = 7654321n
const commitment = poseidonCommitment(secret)
const chunks = Array.from({ length: total }, () => randomBytes(MIB))
const ids = chunks.map((c) => chunkIdOf(c))
const store = await StoreClient.open(host, peer)
for (let i = 0; i < total; i++) await store.store({ chunkId: ids[i]!, commitment: commitmentToDecimal(commitment), deleteCommitment: commitmentToDecimal(commitment), data: chunks[i]! })
await store.close()

/** Median ms of `handshakes` fresh proven sessions (each a new connection-level session: a new secret). */
async function handshakeMs (): Promise<number> {
  const samples: number[] = []
  for (let i = 0; i < handshakes; i++) {
    const s = BigInt(1_000_000 + Math.floor(Math.random() * 1e9))
    const started = performance.now()
    const session = await SessionClient.open({ host, peer, action: 'read', secret: s, commitment: poseidonCommitment(s), prover })
    samples.push(performance.now() - started)
    await session.close()
  }
  samples.sort((a, b) => a - b)
  return samples[Math.floor(samples.length / 2)]!
}

/** MB/s of getting every chunk back on one proven session. */
async function retrieveMbps (): Promise<number> {
  const session = await SessionClient.open({ host, peer, action: 'read', secret, commitment, prover })
  const started = performance.now()
  let next = 0
  await Promise.all(Array.from({ length: WINDOW }, async () => { while (next < total) await session.get(ids[next++]!) }))
  const seconds = (performance.now() - started) / 1000
  await session.close()
  return total * MIB / 1e6 / seconds
}

const calm = { handshake: await handshakeMs(), retrieve: await retrieveMbps(), rss: await peakRssMb(node.child.pid!) }
const attacker = spawnLine('./hostile-attacker.ts', [remote.peerId, ...remote.addrs])
await attacker.line()
await new Promise((resolve) => setTimeout(resolve, 2000)) // let the flood build up
const started = performance.now()
const attacked = { handshake: await handshakeMs(), retrieve: await retrieveMbps(), rss: await peakRssMb(node.child.pid!) }
attacker.child.kill('SIGTERM')
const { proofs } = JSON.parse(await attacker.line()) as { proofs: number }
const rate = proofs / ((performance.now() - started + 2000) / 1000)

console.log(`honest peer vs a bogus-proof flood (${process.env.BENCH_ATTACK_IDS ?? 3} ids x ${process.env.BENCH_ATTACK_STREAMS ?? 8} streams from another process, ~${rate.toFixed(0)} bogus proofs/s answered); ${total} MiB retrieve, ${handshakes} handshakes, 127.0.0.1`)
console.log('| measure | calm | under attack | ratio (calm = 1) |')
console.log('|---|---:|---:|---:|')
console.log(`| handshake median (ms) | ${calm.handshake.toFixed(0)} | ${attacked.handshake.toFixed(0)} | ${(calm.handshake / attacked.handshake).toFixed(2)}x |`)
console.log(`| retrieve (MB/s) | ${calm.retrieve.toFixed(0)} | ${attacked.retrieve.toFixed(0)} | ${(attacked.retrieve / calm.retrieve).toFixed(2)}x |`)
console.log(`| node peak RSS (MB) | ${calm.rss.toFixed(0)} | ${attacked.rss.toFixed(0)} | |`)

await prover.close()
await host.stop()
node.child.kill('SIGTERM')
await new Promise((resolve) => node.child.on('exit', resolve))
process.exit(0)
