import { spawn, type ChildProcess } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { collect, exitOf, QULOUD, terminate, type CliResult } from './node-process.ts'

/** Bound for a daemon start or CLI call on a loaded 2-core machine. */
const DEFAULT_TIMEOUT_MS = 180_000

/** Runs `quloud ...args` inside network namespace `ns`, to completion. */
export async function quloudIn (ns: string, args: string[], timeoutMs = DEFAULT_TIMEOUT_MS): Promise<CliResult> {
  const child = spawn('ip', ['netns', 'exec', ns, QULOUD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  const out = collect(child.stdout!)
  const err = collect(child.stderr!)
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  try {
    const code = await exitOf(child)
    return { code, stdout: out.text(), stderr: err.text() }
  } finally {
    clearTimeout(timer)
  }
}

/**
 * A `quloud start` daemon inside a network namespace. `ip netns exec`, bin/quloud and
 * scripts/node.sh all exec, so the child's pid is the daemon's (api.json names it).
 */
export class NetnsNode {
  readonly name: string
  readonly ns: string
  readonly dataDir: string
  readonly child: ChildProcess
  peerId = ''
  private readonly log: () => string
  private readonly exited: Promise<number | null>

  private constructor (name: string, ns: string, dataDir: string, child: ChildProcess) {
    this.name = name
    this.ns = ns
    this.dataDir = dataDir
    this.child = child
    this.log = collect(child.stderr!).text
    child.stdout!.resume()
    this.exited = exitOf(child)
  }

  static async start (name: string, ns: string, dataDir: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<NetnsNode> {
    const child = spawn('ip', ['netns', 'exec', ns, QULOUD, 'start', '--data-dir', dataDir, '--api', '127.0.0.1:0', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env }
    })
    const node = new NetnsNode(name, ns, dataDir, child)
    const deadline = Date.now() + DEFAULT_TIMEOUT_MS
    while (true) {
      const info = await readFile(join(dataDir, 'api.json'), 'utf8').then(JSON.parse, () => undefined)
      if (info?.pid === child.pid) {
        node.peerId = info.peerId
        return node
      }
      if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
        await node.stop()
        throw new Error(`${name} did not start:\n${node.stderr}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  }

  get stderr (): string {
    return this.log()
  }

  async cli (args: string[], timeoutMs?: number): Promise<CliResult> {
    return quloudIn(this.ns, [...args, '--data-dir', this.dataDir], timeoutMs)
  }

  async json<T> (args: string[]): Promise<T> {
    const result = await this.cli([...args, '--json'])
    if (result.code !== 0) throw new Error(`${this.name}: quloud ${args.join(' ')} exited ${result.code}: ${result.stderr}`)
    return JSON.parse(result.stdout) as T
  }

  /** SIGTERM, then SIGKILL after `timeoutMs`. */
  async stop (timeoutMs = 10_000): Promise<number | null> {
    return terminate(this.child, this.exited, timeoutMs)
  }
}
