import { EXIT } from './exit-codes.ts'

/** Where commands write: injected so tests can capture output without a process. */
export interface CliIo {
  out (text: string): void
  err (text: string): void
  isTty: boolean
  env: NodeJS.ProcessEnv
}

export const processIo: CliIo = {
  out: (text) => { process.stdout.write(text) },
  err: (text) => { process.stderr.write(text) },
  isTty: process.stdout.isTTY === true,
  env: process.env
}

/**
 * A reader that goes away (`quloud ls | head -1`) makes the next write to stdout fail
 * with EPIPE, which Node reports as an unhandled 'error' event and a stack trace.
 * Here it is one line and exit 141, what a shell shows for a command ended by SIGPIPE.
 * A closed stderr is ignored: there is no one left to tell.
 */
export function exitOnBrokenPipe (): void {
  process.stderr.on('error', () => {})
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err
    try {
      process.stderr.write('quloud: standard output was closed early (broken pipe)\n')
    } catch {}
    process.exit(EXIT.brokenPipe)
  })
}
