import { InvalidArgumentError, type Command } from 'commander'
import { callApi, findDaemon, processAlive } from '../../adapters/control-api/control-api-client.ts'
import { resolveDataDir } from '../../adapters/data-dir/data-dir-layout.ts'
import { parseDuration } from '../../domain/config/duration.ts'
import { StopTimeoutError } from '../../errors.ts'
import type { CliIo } from '../io.ts'
import { DATA_DIR_HELP } from './daemon-call.ts'

export interface StopOptions {
  dataDir?: string
  json?: boolean
  /** Milliseconds to wait for the daemon's process to end. */
  timeout: number
}

const POLL_MS = 100

/**
 * Asks the daemon to stop as on SIGTERM (it finishes closing its stores) and waits for
 * its process to end: exit 0 once it has, 5 when none was running, 12 when it is
 * still running after `--timeout`.
 */
export async function runStop (options: StopOptions, io: CliIo, alive: (pid: number) => boolean = processAlive): Promise<{ stopped: true, pid: number }> {
  const daemon = await findDaemon(resolveDataDir(options.dataDir, io.env))
  const { pid } = await callApi<{ stopping: boolean, pid: number }>(daemon, 'POST', '/v1/stop')
  const deadline = Date.now() + options.timeout
  while (alive(pid)) {
    if (Date.now() > deadline) throw new StopTimeoutError(`the daemon (pid ${pid}) is still stopping after ${options.timeout} ms; wait longer with --timeout, or send it SIGKILL`)
    await new Promise((resolve) => setTimeout(resolve, POLL_MS))
  }
  io.out(options.json === true ? JSON.stringify({ stopped: true, pid }) + '\n' : `stopped the daemon (pid ${pid})\n`)
  return { stopped: true, pid }
}

function timeoutArgument (value: string): number {
  try {
    return parseDuration(value)
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message)
  }
}

export function registerStop (program: Command, io: CliIo): void {
  program.command('stop')
    .description('stop the running daemon gracefully and wait until it has exited')
    .option('--timeout <duration>', 'how long to wait for it to exit, e.g. 30s', timeoutArgument, 30_000)
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .option('--json', 'print {stopped, pid}')
    .action(async (options: StopOptions) => { await runStop(options, io) })
}
