import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const QULOUD_BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'quloud')

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs `bin/quloud ...args` to completion (killed after `timeoutMs`). */
export async function runQuloud (args: string[], options: { input?: string, env?: NodeJS.ProcessEnv, timeoutMs?: number } = {}): Promise<CliResult> {
  const child = spawn('bash', [QULOUD_BIN, ...args], { env: { ...process.env, ...options.env }, stdio: 'pipe' })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => { stdout += d })
  child.stderr.on('data', (d) => { stderr += d })
  child.stdin.end(options.input ?? '')
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000)
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)))
  clearTimeout(timer)
  return { code, stdout, stderr }
}
