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
