import { createWriteStream, type WriteStream } from 'node:fs'
import { DataDirError } from '../../errors.ts'

/**
 * An append-only log file (0600: log lines name peers and files). `reopen` closes and
 * opens the path again, so after logrotate moves the file the daemon writes a new one
 * (the daemon calls it on SIGHUP). Open failures surface at `open`, as one error.
 */
export class LogFile {
  private stream: WriteStream
  private readonly path: string

  private constructor (path: string, stream: WriteStream) {
    this.path = path
    this.stream = stream
  }

  static async open (path: string): Promise<LogFile> {
    return new LogFile(path, await openStream(path))
  }

  write (line: string): void {
    this.stream.write(line)
  }

  async reopen (): Promise<void> {
    const old = this.stream
    this.stream = await openStream(this.path)
    old.end()
  }

  async close (): Promise<void> {
    await new Promise<void>((resolve) => this.stream.end(resolve))
  }
}

async function openStream (path: string): Promise<WriteStream> {
  const stream = createWriteStream(path, { flags: 'a', mode: 0o600 })
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => { stream.off('error', reject); resolve() })
    stream.once('error', (err) => reject(new DataDirError(`cannot open the log file ${path}: ${err.message}`, { cause: err })))
  })
  // a disk that fills later must not crash the daemon through an unhandled 'error'
  stream.on('error', () => {})
  return stream
}
