// A standalone storage node in its own process, so a test can read its RSS alone:
// `QULOUD_TEST_NODE` holds JSON { budgets?, known?: peer ids, idleTimeoutMs? }; prints one JSON line
// { peerId, addrs }, answers each stdin line "usage" with the budget's node-wide use,
// and stops on SIGTERM or when stdin closes (a dead test leaves no process behind).
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { spawn, type ChildProcess } from 'node:child_process'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { EXTERNAL_MEMORY_FLAG, wantsExternalAccounting } from '../../src/assembly/heap-accounting.ts'
import { startBareHost } from '../../src/assembly/host.ts'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { tcp, type TCPSocketOptions } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { silentLoggerFactory, stderrLoggerFactory } from '../../src/adapters/logging/stderr-logger.ts'
import { startStandaloneStorageNode } from '../../src/assembly/standalone-storage-node.ts'
import type { StorageServeInit } from '../../src/assembly/storage-side.ts'
import { tempDir } from './temp-dir.ts'

export interface BudgetedNodeSettings {
  budgets?: StorageServeInit['budgets']
  /** Peers the node treats as trusted (kept out of the strangers' share). */
  known?: string[]
  /** The node's idle timeout (default IDLE_TIMEOUT_MS, 20 s): how long what a silent peer sent is held. */
  idleTimeoutMs?: number
}

export interface BudgetedNodeProcess {
  child: ChildProcess
  peerId: string
  addrs: string[]
  /** VmRSS or VmHWM of the node process, in MiB. */
  memoryMib (field?: 'VmRSS' | 'VmHWM'): Promise<number>
  /**
   * A bare client host that knows the node's addresses; stopped by `stop`. With
   * `localAddress` (another 127.0.0.x) it dials from there: another "subnet" to the node.
   */
  client (privateKey?: PrivateKey, localAddress?: string): Promise<Libp2p>
  /** With `collect`, after full garbage collections: `process.arrayBuffers` then counts only what is live. */
  usage (collect?: boolean): Promise<{ used: { memory: number, streams: number }, strangers: { memory: number, streams: number }, process: NodeJS.MemoryUsage }>
  stop (): Promise<void>
}

/** A started host whose TCP dials leave from `localAddress` (libp2p passes dialOpts to net.connect as they are). */
export async function dialingFrom (localAddress: string, privateKey?: PrivateKey): Promise<Libp2p> {
  const host = await createLibp2p({
    ...(privateKey === undefined ? {} : { privateKey }),
    transports: [tcp({ dialOpts: { localAddress } as unknown as TCPSocketOptions })],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false },
    services: { identify: identify(), ping: ping() }
  })
  return host as unknown as Libp2p
}

/** Starts the node process; resolves once it listens. */
export async function startBudgetedNodeProcess (settings: BudgetedNodeSettings): Promise<BudgetedNodeProcess> {
  // --expose-gc: a test may weigh the buffers still live, without the garbage not yet collected
  // and the heap accounting `quloud start` sets, from the first allocation: the attack
  // tests' memory bounds hold for the daemon as run
  const accounting = wantsExternalAccounting() ? [EXTERNAL_MEMORY_FLAG] : []
  const child = spawn(process.execPath, ['--expose-gc', ...accounting, import.meta.filename], {
    env: { ...process.env, QULOUD_TEST_NODE: JSON.stringify(settings) },
    stdio: ['pipe', 'pipe', 'inherit']
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const lines = createInterface({ input: child.stdout! })
  const waiters: Array<(line: string) => void> = []
  lines.on('line', (line) => waiters.shift()?.(line))
  const nextLine = async (): Promise<string> => new Promise((resolve, reject) => {
    waiters.push(resolve)
    void exited.then(() => reject(new Error('the node process exited')))
  })
  const { peerId, addrs } = JSON.parse(await nextLine()) as { peerId: string, addrs: string[] }
  const clients: Libp2p[] = []
  return {
    child,
    peerId,
    addrs,
    memoryMib: async (field = 'VmRSS') => {
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8')
      return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)![1]) / 1024
    },
    client: async (privateKey, localAddress) => {
      const host = localAddress === undefined ? await startBareHost({ privateKey }) : await dialingFrom(localAddress, privateKey)
      clients.push(host)
      await host.peerStore.merge(peerIdFromString(peerId), { multiaddrs: addrs.map((a) => multiaddr(a)) })
      return host
    },
    usage: async (collect = false) => {
      const line = nextLine()
      child.stdin!.write(collect ? 'collected usage\n' : 'usage\n')
      return JSON.parse(await line)
    },
    stop: async () => {
      for (const host of clients.splice(0)) await Promise.resolve(host.stop()).catch(() => {})
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    }
  }
}

if (process.argv[1] === import.meta.filename) {
  const settings = JSON.parse(process.env.QULOUD_TEST_NODE ?? '{}') as BudgetedNodeSettings
  const known = new Set(settings.known ?? [])
  const dir = await tempDir('quloud-budget-node-')
  const node = await startStandaloneStorageNode({
    chunksDir: join(dir.path, 'chunks'),
    metadataDir: join(dir.path, 'metadata'),
    atRestKey: randomBytes(32),
    capacity: 2 ** 30,
    peerQuota: 2 ** 30,
    // QULOUD_TEST_NODE_LOG=1 shows what the node refused and why
    loggers: process.env.QULOUD_TEST_NODE_LOG === '1' ? stderrLoggerFactory() : silentLoggerFactory,
    budgets: settings.budgets,
    ...(settings.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: settings.idleTimeoutMs }),
    isKnownPeer: (peer) => known.has(peer)
  })
  let stopping: Promise<void> | undefined
  const stop = async (): Promise<void> => {
    stopping ??= (async () => {
      await node.stop()
      await dir.cleanup()
      process.exit(0)
    })()
    return stopping
  }
  process.once('SIGTERM', () => { void stop() })
  const input = createInterface({ input: process.stdin })
  input.on('line', (line) => {
    if (line === 'collected usage') {
      const gc = (globalThis as { gc?: () => void }).gc
      // twice: V8 frees dead ArrayBuffers' memory on a background thread after a
      // collection, and `arrayBuffers` counts them until that sweep is done; the next
      // collection finishes it first. After one, up to ~60 MiB of dead chunk buffers
      // were weighed as live, now and then (test/budget-slow-reader.test.ts)
      gc?.()
      gc?.()
    }
    if (line === 'usage' || line === 'collected usage') process.stdout.write(JSON.stringify({ ...node.side.budgetUsage(), process: process.memoryUsage() }) + '\n')
  })
  input.on('close', () => { void stop() })
  process.stdout.write(JSON.stringify({ peerId: node.host.peerId.toString(), addrs: node.host.getMultiaddrs().map(String) }) + '\n')
}
