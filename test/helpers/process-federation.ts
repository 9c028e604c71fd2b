import { createHash, randomBytes } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { initNode, NodeProcess, runQuloud, type CliResult } from './node-process.ts'
import { tempDir } from './temp-dir.ts'
import { waitFor } from './wait-for.ts'

/** Membership timers short enough that a federation of test daemons forms in seconds. */
export const FAST_MEMBERSHIP = { announceInterval: 2000, livenessInterval: 1000, pingTimeout: 2000, discoveryInterval: 2000 }

/** A CLI call may wait for proofs on a loaded 2-core machine: generous, the call ends when it is done. */
const CLI_TIMEOUT_MS = 300_000
const START_TIMEOUT_MS = 180_000

export interface ProcessFederationOptions {
  /** Prefix of the temp folder and of the unique federation name. */
  prefix: string
  /** The nodes, by short name; each gets its own data dir, initialised but not started. */
  names: readonly string[]
  /** Config keys merged over FAST_MEMBERSHIP into every node's config.json (or per node). */
  config?: Record<string, unknown> | ((name: string) => Record<string, unknown>)
}

/**
 * Daemons in their own processes on 127.0.0.1, in a federation of their own with a
 * unique name and mDNS off: the first one started is everyone's bootstrap peer. What
 * the process tests share, so each says only what it tests.
 */
export class ProcessFederation {
  readonly dir: string
  readonly federation: string
  private readonly cleanup: () => Promise<void>
  private readonly running = new Map<string, NodeProcess>()
  /** Every daemon started, stopped ones too: their logs explain what came after. */
  private readonly everStarted = new Map<string, NodeProcess>()
  private readonly names = new Map<string, string>()
  private readonly phrases = new Map<string, string>()
  private readonly config: ProcessFederationOptions['config']
  private bootstrap: string[] = []

  private constructor (dir: string, cleanup: () => Promise<void>, federation: string, config: ProcessFederationOptions['config']) {
    this.dir = dir
    this.cleanup = cleanup
    this.federation = federation
    this.config = config
  }

  /** Creates the temp folder and runs `quloud init` for every node. */
  static async create (options: ProcessFederationOptions): Promise<ProcessFederation> {
    const dir = await tempDir(`quloud-${options.prefix}-`)
    const federation = new ProcessFederation(dir.path, dir.cleanup, `${options.prefix}-${randomBytes(4).toString('hex')}`, options.config)
    try {
      for (const name of options.names) await federation.init(name)
    } catch (err) {
      await dir.cleanup()
      throw err
    }
    return federation
  }

  dataDir (name: string): string {
    return join(this.dir, name)
  }

  /** `quloud init` of a node (its config as `create`'s); with `recoverFrom`, `init --recover` from those 24 words. */
  async init (name: string, recoverFrom?: string): Promise<void> {
    const extra = typeof this.config === 'function' ? this.config(name) : this.config ?? {}
    const init = await initNode(this.dataDir(name), { ...FAST_MEMBERSHIP, ...extra }, recoverFrom === undefined ? {} : { args: ['--recover'], input: `${recoverFrom}\n` })
    if (init.recoveryPhrase !== undefined) this.phrases.set(name, init.recoveryPhrase)
  }

  /** The recovery phrase `quloud init` printed for `name`. */
  phrase (name: string): string {
    const phrase = this.phrases.get(name)
    if (phrase === undefined) throw new Error(`node ${name} was not initialised here with a new phrase`)
    return phrase
  }

  /** `quloud ...args --data-dir <name's>`. */
  async cli (name: string, args: string[], input?: string): Promise<CliResult> {
    return runQuloud([...args, '--data-dir', this.dataDir(name)], { timeoutMs: CLI_TIMEOUT_MS, ...(input === undefined ? {} : { input }) })
  }

  /** Starts one daemon; the first started becomes the bootstrap peer of those after it. */
  async start (name: string, args: string[] = []): Promise<NodeProcess> {
    const node = await NodeProcess.start({ dataDir: this.dataDir(name), args: [...this.commonArgs(), ...args], startTimeoutMs: START_TIMEOUT_MS })
    this.started(name, node)
    if (this.bootstrap.length === 0) {
      const status = await node.api<{ addresses: string[] }>('/v1/status')
      this.bootstrap = status.addresses.filter((a) => a.includes('/ip4/127.0.0.1/'))
    }
    return node
  }

  /** Starts several: the first alone if there is no bootstrap peer yet, the rest at once. */
  async startAll (names: readonly string[]): Promise<void> {
    let rest = names
    if (this.bootstrap.length === 0 && rest.length > 0) {
      await this.start(rest[0]!)
      rest = rest.slice(1)
    }
    const nodes = await NodeProcess.startAll(rest.map((name) => ({ dataDir: this.dataDir(name), args: this.commonArgs(), startTimeoutMs: START_TIMEOUT_MS })))
    nodes.forEach((node, i) => this.started(rest[i]!, node))
  }

  /** SIGTERM; resolves to the exit code (0 for a clean shutdown). */
  async stop (name: string): Promise<number | null> {
    const node = this.node(name)
    this.running.delete(name)
    return node.stop()
  }

  /** SIGKILL: the daemon dies without any shutdown. */
  async kill (name: string): Promise<void> {
    const node = this.node(name)
    this.running.delete(name)
    await node.kill()
  }

  node (name: string): NodeProcess {
    const node = this.running.get(name)
    if (node === undefined) throw new Error(`node ${name} is not running`)
    return node
  }

  /** Names of the running nodes, in the order they were started. */
  get live (): string[] {
    return [...this.running.keys()]
  }

  /** The name of the node with `peerId` (also after it stopped). */
  nameOf (peerId: string): string {
    const name = this.names.get(peerId)
    if (name === undefined) throw new Error(`no node of this federation has peer id ${peerId}`)
    return name
  }

  /** Waits until `name` counts at least `live` live peers. */
  async waitForPeers (name: string, live: number, timeoutMs = 240_000): Promise<void> {
    await waitFor(async () => {
      const peers = await this.cli(name, ['peers', '--json'])
      return peers.code === 0 && JSON.parse(peers.stdout).live >= live
    }, { what: `${name} to see ${live} live peers`, timeoutMs, intervalMs: 500 })
  }

  /**
   * What every daemon started thinks of its peers, and the tail of its log (stopped ones
   * too: their logs explain what came after): for `explained` (explained.ts), so a flake
   * says which peer went missing and why.
   */
  async explain (lines = 200): Promise<string> {
    const parts: string[] = []
    for (const [name, node] of this.everStarted) {
      const exited = node.child.exitCode !== null || node.child.signalCode !== null
      const view = exited ? '  (stopped)' : await node.api<{ peers: PeerView[] }>('/v1/peers')
        .then((answer) => answer.peers.map((p) => `  ${this.names.get(p.peerId) ?? p.peerId}: ${p.liveness.reachable ? 'reachable' : 'UNREACHABLE'}, ${p.connected ? 'connected' : 'not connected'}, ` +
          `${p.liveness.successes}/${p.liveness.probes} probes ok, ${p.liveness.consecutiveFailures} failed in a row, rtt ${p.liveness.lastRttMs ?? '-'} ms`).join('\n'))
        .catch((err: Error) => `  (no answer to /v1/peers: ${err.message})`)
      const log = node.stderr.trimEnd().split('\n').slice(-lines).join('\n')
      parts.push(`--- daemon ${name} (${node.peerId}), ${exited ? `exited ${node.child.exitCode ?? node.child.signalCode}` : 'running'}; its peers:\n${view}\n--- daemon ${name}: last ${lines} log lines ---\n${log}`)
    }
    return parts.join('\n')
  }

  /** The last lines every running daemon logged, for an assertion's message. */
  logs (lines = 60): string {
    return [...this.running].map(([name, n]) => `--- ${name} ---\n${n.stderr.split('\n').slice(-lines).join('\n')}`).join('\n')
  }

  /** Stops every daemon and removes the folder. */
  async close (): Promise<void> {
    const nodes = [...this.running.values()]
    this.running.clear()
    await Promise.all(nodes.map(async (n) => n.stop()))
    await this.cleanup()
  }

  private commonArgs (): string[] {
    return ['--federation', this.federation, '--no-mdns', ...(this.bootstrap.length > 0 ? ['--bootstrap', ...this.bootstrap] : [])]
  }

  private started (name: string, node: NodeProcess): void {
    this.running.set(name, node)
    this.everStarted.set(name, node)
    this.names.set(node.peerId, name)
  }
}

/** A row of `GET /v1/peers`, as far as `explain` reads it. */
interface PeerView {
  peerId: string
  connected: boolean
  liveness: { reachable: boolean, consecutiveFailures: number, probes: number, successes: number, lastRttMs: number | null }
}

/** The chunk files a node's file chunk store holds, by path. */
export async function chunkFiles (dataDir: string): Promise<string[]> {
  const root = join(dataDir, 'chunks', 'chunks')
  const files: string[] = []
  for (const shard of await readdir(root).catch(() => [] as string[])) for (const f of await readdir(join(root, shard))) files.push(join(root, shard, f))
  return files
}

export async function sha256Of (path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex')
}
