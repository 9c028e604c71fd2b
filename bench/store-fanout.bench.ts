// Owner CPU per MiB of file to store each 1 MiB chunk on 3 storage-node processes:
// "before" frames the chunk with the protobuf codec once per holder (a copy each time),
// "after" shares one zero-copy frame (encodeStoreRequest) among the holders.
//   npm run bench -- fanout      (FANOUT_MIB=64 by default, 3 interleaved rounds)
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { encodeStoreRequest, StoreClient, type EncodedStoreRequest } from '../src/adapters/libp2p/protocols/store-client.ts'
import { encodeFrame } from '../src/adapters/libp2p/wire/framed-stream.ts'
import { StoreRequestCodec } from '../src/adapters/libp2p/wire/messages.ts'
import { chunkIdOf } from '../src/domain/formats/chunk-id.ts'
import { commitmentToDecimal, poseidonCommitment } from '../src/domain/proofs/poseidon-commitment.ts'
import { startClientHost } from '../test/helpers/storage-node.ts'

const MIB = 1024 * 1024
const total = Number(process.env.FANOUT_MIB ?? 64)
const HOLDERS = 3
const WINDOW = 8
const children: ChildProcess[] = []
const host = await startClientHost()
const peers: PeerId[] = []
for (let i = 0; i < HOLDERS; i++) {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./fixtures/storage-node-process.ts', import.meta.url))], { stdio: ['ignore', 'pipe', 'inherit'] })
  children.push(child)
  const remote = JSON.parse(await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve)))
  const peer = peerIdFromString(remote.peerId)
  await host.peerStore.merge(peer, { multiaddrs: remote.addrs.map((a: string) => multiaddr(a)) })
  peers.push(peer)
}
const commitment = commitmentToDecimal(poseidonCommitment(99n))

async function run (mode: 'before' | 'after'): Promise<{ cpuMsPerMiB: number, mbps: number }> {
  const chunks = Array.from({ length: total }, () => randomBytes(MIB))
  const ids = chunks.map((c) => chunkIdOf(c))
  const clients = await Promise.all(peers.map(async (p) => StoreClient.open(host, p)))
  const cpu = process.cpuUsage()
  const started = process.hrtime.bigint()
  let next = 0
  await Promise.all(Array.from({ length: WINDOW }, async () => {
    while (next < total) {
      const i = next++
      const request = { chunkId: ids[i]!, commitment, deleteCommitment: commitment, data: chunks[i]! }
      const shared = mode === 'after' ? encodeStoreRequest(request) : undefined
      await Promise.all(clients.map(async (client) => {
        const frame: EncodedStoreRequest = shared ?? { chunkId: request.chunkId, commitment, deleteCommitment: commitment, frame: encodeFrame(StoreRequestCodec, request) }
        return client.store(frame)
      }))
    }
  }))
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  const used = process.cpuUsage(cpu)
  await Promise.all(clients.map(async (c) => c.close()))
  return { cpuMsPerMiB: (used.user + used.system) / 1e3 / total, mbps: total * MIB / 1e6 / seconds }
}

for (let round = 1; round <= 3; round++) {
  for (const mode of ['before', 'after'] as const) {
    const r = await run(mode)
    console.log(`round ${round} ${mode}: owner CPU ${r.cpuMsPerMiB.toFixed(2)} ms per MiB of file (x${HOLDERS} holders), ${r.mbps.toFixed(0)} MB/s of file`)
  }
}
await host.stop()
for (const child of children) child.kill('SIGTERM')
await Promise.all(children.map(async (c) => new Promise((resolve) => c.on('exit', resolve))))
