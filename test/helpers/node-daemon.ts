import { spawn, type ChildProcess } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { QULOUD_BIN } from './cli.ts'

/** A `quloud start` process on loopback with an ephemeral port and API port. */
export interface Daemon {
  child: ChildProcess
  dataDir: string
  logs: () => string
  /** SIGTERM; resolves to exit code and how long it took. SIGKILL after 10 s. */
  stop (signal?: NodeJS.Signals): Promise<{ code: number | null, signal: NodeJS.Signals | null, ms: number }>
}

export async function startDaemon (dataDir: string, extraArgs: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Daemon> {
  const child = spawn('bash', [QULOUD_BIN, 'start', '--data-dir', dataDir, '--listen', '/ip4/127.0.0.1/tcp/0', '--api', '127.0.0.1:0', ...extraArgs], {
    env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe']
  })
  let logs = ''
  child.stdout!.on('data', (d) => { logs += d })
  child.stderr!.on('data', (d) => { logs += d })
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })))
  const deadline = Date.now() + 60_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`quloud start exited with ${child.exitCode}:\n${logs}`)
    const api = await readFile(join(dataDir, 'api.json'), 'utf8').catch(() => undefined)
    if (api !== undefined && JSON.parse(api).pid !== undefined) break
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`quloud start did not come up:\n${logs}`)
    }
    await sleep(100)
  }
  return {
    child,
    dataDir,
    logs: () => logs,
    async stop (signal = 'SIGTERM') {
      const started = Date.now()
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      const result = await exited
      clearTimeout(killer)
      return { ...result, ms: Date.now() - started }
    }
  }
}
