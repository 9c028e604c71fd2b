// The raw libp2p stream itself, between two processes on 127.0.0.1: Noise's default
// crypto against cachedKeyNoiseCrypto (what create-host.ts uses), and Yamux window
// settings, interleaved over rounds so a busy machine slows each alike.
//   npm run bench -- transport     (BENCH_MIB=256, BENCH_ROUNDS=3; BENCH_ONLY=REGEX keeps the variants whose name matches, the first always)
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { multiaddr } from '@multiformats/multiaddr'
import { cpuSecondsOf, secondsSince } from './daemon-federation.ts'
import { sendWithBackPressure } from '../src/adapters/libp2p/wire/send-with-back-pressure.ts'
import { SINK, startTransportHost, type TransportSettings } from './raw-stream-peer.ts'

const MIB = 1024 * 1024
const total = Number(process.env.BENCH_MIB ?? 256)
const rounds = Number(process.env.BENCH_ROUNDS ?? 3)
const allVariants: Array<[string, TransportSettings]> = [
  ['Noise default crypto, Yamux defaults', { crypto: 'default' }],
  ['cached-key crypto, Yamux defaults', { crypto: 'cached-key' }],
  ['cached-key crypto, Yamux max window 64 MiB', { crypto: 'cached-key', streamOptions: { maxStreamWindowSize: 64 * MIB } }],
  ['cached-key crypto, Yamux max window 4 MiB', { crypto: 'cached-key', streamOptions: { maxStreamWindowSize: 4 * MIB } }],
  // the windows a stream's read-ahead budget could afford (create-host.ts STREAM_WINDOW_BYTES)
  ['cached-key crypto, Yamux max window 2 MiB', { crypto: 'cached-key', streamOptions: { maxStreamWindowSize: 2 * MIB } }],
  ['cached-key crypto, Yamux max window 1 MiB', { crypto: 'cached-key', streamOptions: { maxStreamWindowSize: MIB } }],
  ['cached-key crypto, Yamux max window 512 KiB', { crypto: 'cached-key', streamOptions: { maxStreamWindowSize: MIB / 2 } }],
  ['cached-key crypto, Yamux max window 256 KiB (= initial)', { crypto: 'cached-key', streamOptions: { maxStreamWindowSize: MIB / 4 } }]
]
const only = process.env.BENCH_ONLY === undefined ? undefined : new RegExp(process.env.BENCH_ONLY)
const variants = allVariants.filter(([name], i) => i === 0 || only === undefined || only.test(name))
const blocks = Array.from({ length: 16 }, () => randomBytes(MIB))

interface Measure { mbps: number, senderMsPerMib: number, receiverMsPerMib: number }

/** MB/s, and CPU ms per MiB (user + system) of the sender (this process) and the receiver. */
async function measure (settings: TransportSettings): Promise<Measure> {
  const child: ChildProcess = spawn(process.execPath, [fileURLToPath(new URL('./raw-stream-peer.ts', import.meta.url)), JSON.stringify(settings)], { stdio: ['ignore', 'pipe', 'inherit'] })
  const remote = JSON.parse(await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve)))
  const host = await startTransportHost(settings)
  try {
    await host.start()
    const stream = await host.dialProtocol(multiaddr(remote.addrs[0]), SINK)
    const cpu = await Promise.all([process.pid, child.pid!].map(cpuSecondsOf))
    const started = process.hrtime.bigint()
    for (let i = 0; i < total; i++) await sendWithBackPressure(stream, blocks[i % blocks.length]!)
    await stream.close()
    for await (const _ of stream) { /* the sink's byte count */ }
    const mbps = total * MIB / 1e6 / secondsSince(started)
    const [sender, receiver] = (await Promise.all([process.pid, child.pid!].map(cpuSecondsOf))).map((after, i) => (after - cpu[i]!) * 1000 / total)
    return { mbps, senderMsPerMib: sender!, receiverMsPerMib: receiver! }
  } finally {
    await host.stop()
    child.kill('SIGTERM')
    await new Promise((resolve) => child.once('exit', resolve))
  }
}

const results = variants.map(() => [] as Measure[])
for (let round = 0; round < rounds; round++) {
  for (const [i, [, settings]] of variants.entries()) results[i]!.push(await measure(settings))
}
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[values.length >> 1]!
const of = (i: number, key: keyof Measure): number => median(results[i]!.map((m) => m[key]))
console.log(`${total} MiB over one stream, 1 MiB sends with back-pressure, ${rounds} interleaved rounds, medians`)
console.log('| transport | MB/s | vs default | sender CPU ms/MiB | receiver CPU ms/MiB |')
console.log('|---|---:|---:|---:|---:|')
for (const [i, [name]] of variants.entries()) {
  console.log(`| ${name} | ${of(i, 'mbps').toFixed(0)} | ${(of(i, 'mbps') / of(0, 'mbps')).toFixed(2)}x | ${of(i, 'senderMsPerMib').toFixed(1)} | ${of(i, 'receiverMsPerMib').toFixed(1)} |`)
}
