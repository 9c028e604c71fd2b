import { printable } from '../util/control-characters.ts'
import type { CliIo } from './io.ts'

/** `removing: 12/162 files  album/x.jpg` on stderr while a deletion runs, on a terminal only. */
export class FilesProgress {
  private readonly io: CliIo
  private readonly enabled: boolean
  private readonly verb: string

  constructor (io: CliIo, verb: string, enabled: boolean) {
    this.io = io
    this.verb = verb
    this.enabled = enabled && process.stderr.isTTY === true
  }

  update (event: { name: string, filesDone: number, filesTotal: number }): void {
    if (this.enabled) this.io.err(`\r${this.verb}: ${event.filesDone}/${event.filesTotal} files  ${printable(event.name)}\x1b[K`)
  }

  finish (): void {
    if (this.enabled) this.io.err('\r\x1b[K')
  }
}
