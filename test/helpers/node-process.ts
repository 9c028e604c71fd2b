import { spawn, type ChildProcess } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { callApi, findDaemon } from '../../src/adapters/control-api/control-api-client.ts'

/** The quloud command of this checkout. */
export const QULOUD = resolve(import.meta.dirname, '../../bin/quloud')

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

/** How long a daemon may take to start, or a CLI call to finish, on a loaded machine. */
const DEFAULT_START_TIMEOUT_MS = 120_000

/** Runs `bin/quloud ...args` to completion (bounded by `timeoutMs`, default DEFAULT_START_TIMEOUT_MS: `init` loads as much as a daemon). */
export async function runQuloud (args: string[], options: { env?: NodeJS.ProcessEnv, timeoutMs?: number, input?: string } = {}): Promise<CliResult> {
  const child = spawn(QULOUD, args, { env: { ...process.env, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] })
  child.stdin!.end(options.input ?? '')
  const stdout = collect(child.stdout)
  const stderr = collect(child.stderr)
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? DEFAULT_START_TIMEOUT_MS)
  try {
    const code = await exitOf(child)
    return { code, stdout: stdout.text(), stderr: stderr.text() }
  } finally {
    clearTimeout(timer)
  }
}

/** What `quloud init --json` prints. */
export interface InitResult {
  peerId: string
  /** The 24 words; a recovered node prints none. */
  recoveryPhrase?: string
}

/**
 * `quloud init --data-dir D --json` (with `extra` arguments and `input` on stdin, e.g.
 * `--recover` and the phrase), then merges `config` into D/config.json.
 */
export async function initNode (dataDir: string, config: Record<string, unknown> = {}, extra: { args?: string[], input?: string } = {}): Promise<InitResult> {
  const result = await runQuloud(['init', '--data-dir', dataDir, '--json', ...extra.args ?? []], extra.input === undefined ? {} : { input: extra.input })
  if (result.code !== 0) throw new Error(`quloud init failed (${result.code}): ${result.stderr}`)
  const path = join(dataDir, 'config.json')
  const current = JSON.parse(await readFile(path, 'utf8'))
  await writeFile(path, JSON.stringify({ ...current, ...config }, null, 2) + '\n')
  return JSON.parse(result.stdout)
}

export interface StartOptions {
  dataDir: string
  /** Extra `quloud start` arguments. */
  args?: string[]
  env?: NodeJS.ProcessEnv
  /**
   * How long the daemon may take to write api.json. Default 120 s: a daemon starts in
   * about a second, but on a shared 2-core machine under CPU load it has taken over 30.
   */
  startTimeoutMs?: number
}

/**
 * A `quloud start` daemon in its own process, listening on 127.0.0.1 with an
 * ephemeral port and a loopback control API. `start` resolves once the daemon has
 * written api.json (with its own pid, so a file left by a killed run does not count).
 */
export class NodeProcess {
  readonly dataDir: string
  readonly child: ChildProcess
  readonly exited: Promise<number | null>
  peerId = ''
  private readonly stderrText: () => string

  private constructor (dataDir: string, child: ChildProcess) {
    this.dataDir = dataDir
    this.child = child
    this.exited = exitOf(child)
    this.stderrText = collect(child.stderr!).text
    child.stdout?.resume()
  }

  static async start (options: StartOptions): Promise<NodeProcess> {
    const args = ['start', '--data-dir', options.dataDir, '--listen', '/ip4/127.0.0.1/tcp/0', '--api', '127.0.0.1:0', ...(options.args ?? [])]
    const child = spawn(QULOUD, args, { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] })
    const node = new NodeProcess(options.dataDir, child)
    const deadline = Date.now() + (options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS)
    let exitCode: number | null | undefined
    void node.exited.then((code) => { exitCode = code })
    while (true) {
      const info = await readFile(join(options.dataDir, 'api.json'), 'utf8').then(JSON.parse, () => undefined)
      if (info?.pid === child.pid) {
        node.peerId = info.peerId
        return node
      }
      if (exitCode !== undefined) throw new Error(`quloud start exited with ${exitCode} before it was ready:\n${node.stderr}`)
      if (Date.now() > deadline) {
        await node.kill()
        throw new Error(`quloud start was not ready after ${options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS} ms:\n${node.stderr}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  /**
   * Starts several daemons at once. If one fails to start, those that did are stopped
   * before the error is thrown, so a failed `before` leaves no process behind (a
   * `Promise.all` of starts would orphan them, and the test process would wait forever).
   */
  static async startAll (options: StartOptions[]): Promise<NodeProcess[]> {
    const started = await Promise.allSettled(options.map(async (o) => NodeProcess.start(o)))
    const failure = started.find((s): s is PromiseRejectedResult => s.status === 'rejected')
    if (failure === undefined) return started.map((s) => (s as PromiseFulfilledResult<NodeProcess>).value)
    await Promise.all(started.map(async (s) => { if (s.status === 'fulfilled') await s.value.stop() }))
    throw failure.reason
  }

  /** Everything the daemon logged so far. */
  get stderr (): string {
    return this.stderrText()
  }

  /** Calls the daemon's control API (what the CLI does, without starting a process). */
  async api<T> (path: string): Promise<T> {
    return callApi<T>(await findDaemon(this.dataDir), 'GET', path)
  }

  /** SIGTERM, then SIGKILL if the daemon has not exited within `timeoutMs`. */
  async stop (timeoutMs = 10_000): Promise<number | null> {
    return terminate(this.child, this.exited, timeoutMs)
  }

  /** SIGKILL: the daemon dies without any shutdown. */
  async kill (): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL')
    await this.exited
  }
}

/** SIGTERM, then SIGKILL if `child` has not exited within `timeoutMs`; resolves to its exit code. */
export async function terminate (child: ChildProcess, exited: Promise<number | null>, timeoutMs: number): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return exited
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  try {
    return await exited
  } finally {
    clearTimeout(timer)
  }
}

export async function exitOf (child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code) => resolve(code))
  })
}

export function collect (stream: NodeJS.ReadableStream): { text: () => string } {
  const parts: string[] = []
  let size = 0
  stream.setEncoding('utf8')
  stream.on('data', (chunk: string) => {
    // keep the last ~1 MiB: enough to explain a failure, bounded for long runs
    parts.push(chunk)
    size += chunk.length
    while (size > 1 << 20 && parts.length > 1) size -= parts.shift()!.length
  })
  return { text: () => parts.join('') }
}
