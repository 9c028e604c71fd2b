import { TransferProgress } from '../domain/transfer/progress.ts'
import { renderProgressLine } from './progress-line.ts'
import type { CliIo } from './io.ts'

/** Progress events the daemon streams for put, get and receive. */
export interface TransferEvent {
  name: string
  done: number
  total: number
  filesDone?: number
  filesTotal?: number
}

/**
 * Draws one self-updating progress line on stderr when it is a terminal (bytes, rate,
 * ETA); draws nothing otherwise, so scripts and `--json` output stay clean.
 */
export class ProgressBar {
  private readonly io: CliIo
  private readonly enabled: boolean
  private progress: TransferProgress | undefined
  private lastDraw = 0

  constructor (io: CliIo, enabled: boolean) {
    this.io = io
    this.enabled = enabled && process.stderr.isTTY === true
  }

  update (event: TransferEvent): void {
    if (!this.enabled) return
    this.progress ??= new TransferProgress({ totalBytes: event.total, now: () => performance.now() })
    if (event.total !== this.progress.snapshot().totalBytes) this.progress.setTotal(event.total)
    this.progress.advance(event.done - this.progress.snapshot().doneBytes)
    const now = performance.now()
    if (now - this.lastDraw < 100 && event.done < event.total) return
    this.lastDraw = now
    // files count as well as bytes: a tree of small files moves by files, not by bytes
    const label = event.filesTotal === undefined ? event.name : `${event.filesDone ?? 0}/${event.filesTotal} ${event.name}`
    this.io.err('\r' + renderProgressLine(label, this.progress.snapshot(), (process.stderr.columns ?? 80) - 1) + '\x1b[K')
  }

  finish (): void {
    if (this.enabled && this.progress !== undefined) this.io.err('\n')
  }
}
