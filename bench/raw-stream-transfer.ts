// The raw libp2p stream transfers that owner benchmarks measure themselves against
// (Noise + Yamux, real back-pressure, no Quloud work), and the small helpers they share.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { open } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { Libp2p } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { startClientHost } from '../test/helpers/storage-node.ts'
import { sendWithBackPressure } from '../src/adapters/libp2p/wire/send-with-back-pressure.ts'
import { RAW_SINK, RAW_SOURCE } from './fixtures/storage-node-process.ts'

const MIB = 1024 * 1024

/** A helper process (a script beside this file) that prints one JSON line when it is ready. */
export async function spawnReady (children: ChildProcess[], script: string, args: string[] = []): Promise<any> {
  const child = spawn(process.execPath, [fileURLToPath(new URL(script, import.meta.url)), ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
  children.push(child)
  return JSON.parse(await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve)))
}

/** Writes `mib` MiB of random bytes to `path`, a MiB at a time. */
export async function writeRandomFile (path: string, mib: number): Promise<void> {
  const handle = await open(path, 'w')
  try {
    for (let i = 0; i < mib; i++) await handle.write(randomBytes(MIB))
  } finally {
    await handle.close()
  }
}

/** A raw peer in its own process (fixtures/storage-node-process.ts) and a client host that knows its addresses. */
export async function startRawPeer (children: ChildProcess[]): Promise<{ host: Libp2p, peerId: string }> {
  const raw = await spawnReady(children, './fixtures/storage-node-process.ts')
  const host = await startClientHost()
  await host.peerStore.merge(peerIdFromString(raw.peerId), { multiaddrs: raw.addrs.map((a: string) => multiaddr(a)) })
  return { host, peerId: raw.peerId }
}

/** Sends the first `bytes` of `file` to `peer`'s raw sink, a MiB at a time. */
export async function rawUpload (host: Libp2p, peer: string, file: string, bytes: number): Promise<void> {
  const stream = await host.dialProtocol(peerIdFromString(peer), RAW_SINK)
  const source = await open(file)
  try {
    for (let at = 0; at < bytes; at += MIB) {
      // a fresh buffer per MiB, as the owner reads its file: the stream may still hold the last one
      const block = Buffer.allocUnsafe(MIB)
      await source.read(block, 0, MIB, at)
      await sendWithBackPressure(stream, block)
    }
  } finally {
    await source.close()
  }
  await stream.close()
  for await (const _ of stream) { /* the sink's byte count */ }
}

/** Reads `bytes` from `peer`'s raw source. */
export async function rawDownload (host: Libp2p, peer: string, bytes: number): Promise<void> {
  const stream = await host.dialProtocol(peerIdFromString(peer), RAW_SOURCE)
  stream.send(new TextEncoder().encode(String(bytes)))
  await stream.close()
  let got = 0
  for await (const part of stream) got += part.byteLength
  if (got < bytes) throw new Error(`raw download got ${got} of ${bytes} bytes`)
}

export function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** Stops the helper processes and waits for them. */
export async function stopChildren (children: ChildProcess[]): Promise<void> {
  for (const child of children) child.kill('SIGTERM')
  await Promise.all(children.map(async (child) => child.exitCode ?? new Promise((resolve) => child.once('exit', resolve))))
}
