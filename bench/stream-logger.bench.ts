// What libp2p's per-stream loggers cost under stream churn: two hosts in this process
// (create-host.ts, as the node builds them) open and answer short streams, once with
// @libp2p/logger's defaultLogger (what libp2p uses unless given one: three debug
// instances per stream, each asking isatty) and once with quietLibp2pLogger (the
// node's, DEBUG unset), interleaved over rounds; CPU of this process per stream.
//   npm run bench -- stream-logger     (BENCH_STREAMS=4000 per round, BENCH_ROUNDS=3)
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { ComponentLogger, Libp2p } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import { createHost } from '../src/adapters/libp2p/create-host.ts'
import { quietLibp2pLogger } from '../src/adapters/libp2p/quiet-logger.ts'

const PROTOCOL = '/quloud-bench/churn/1.0.0'
const STREAMS = Number(process.env.BENCH_STREAMS ?? 4000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const AT_ONCE = 16

async function pair (logger: ComponentLogger): Promise<{ client: Libp2p, server: Libp2p }> {
  const [client, server] = await Promise.all([0, 1].map(async () => {
    const host = await createHost({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], logger })
    await host.start()
    return host
  }))
  await server!.handle(PROTOCOL, async (stream) => {
    for await (const chunk of stream) { stream.send(chunk.subarray()); break }
    await stream.close()
  }, { maxInboundStreams: 1000 })
  await client!.dial(server!.getMultiaddrs()[0]!)
  return { client: client!, server: server! }
}

/** µs of CPU per stream (both hosts are in this process): open, one byte each way, close. */
async function churn ({ client, server }: { client: Libp2p, server: Libp2p }): Promise<number> {
  const target = server.getMultiaddrs()[0]!
  const before = process.cpuUsage()
  let next = 0
  await Promise.all(Array.from({ length: AT_ONCE }, async () => {
    while (next++ < STREAMS) {
      const stream = await client.dialProtocol(target, PROTOCOL, { maxOutboundStreams: 1000 })
      stream.send(Uint8Array.of(1))
      for await (const _ of stream) break
      await stream.close()
    }
  }))
  const used = process.cpuUsage(before)
  return (used.user + used.system) / STREAMS
}

const variants: Array<[string, ComponentLogger]> = [
  ['defaultLogger (libp2p unless told)', defaultLogger()],
  ['quietLibp2pLogger (the node, DEBUG unset)', quietLibp2pLogger(undefined)]
]
const hosts = await Promise.all(variants.map(async ([, logger]) => pair(logger)))
for (const h of hosts) await churn(h) // warm
const us: number[][] = variants.map(() => [])
for (let r = 0; r < ROUNDS; r++) for (let v = 0; v < variants.length; v++) us[v]!.push(await churn(hosts[v]!))
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
console.log(`${STREAMS} streams a round (${AT_ONCE} at once) over one connection, ${ROUNDS} rounds interleaved; CPU µs per stream, median (all rounds)`)
console.log('| loggers | µs per stream | ratio |')
console.log('|---|---:|---:|')
for (let v = 0; v < variants.length; v++) {
  console.log(`| ${variants[v]![0]} | ${median(us[v]!).toFixed(0)} (${us[v]!.map((x) => x.toFixed(0)).join(', ')}) | ${(median(us[v]!) / median(us[0]!)).toFixed(2)}x |`)
}
for (const { client, server } of hosts) { await client.stop(); await server.stop() }
process.exit(0)
