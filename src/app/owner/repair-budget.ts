import { setTimeout as sleep } from 'node:timers/promises'

/**
 * The repair's bandwidth budget: bytes per second it may read and write, whatever the
 * number of files repaired at once. Each `take` reserves its bytes at the budget's rate
 * after every earlier reservation and waits until at most one second's worth is
 * reserved ahead of now, so repair traffic averages the rate with bursts of at most
 * that: a node repairing a lost neighbour's shards does not starve its owner's own
 * puts and gets.
 */
const BURST_MS = 1000

export class RepairBudget {
  private readonly bytesPerSecond: number
  private readonly now: () => number
  private nextAt = 0
  private taken = 0

  constructor (bytesPerSecond: number, now: () => number = () => performance.now()) {
    if (!(bytesPerSecond > 0)) throw new RangeError(`a repair budget is a positive rate, got ${bytesPerSecond}`)
    this.bytesPerSecond = bytesPerSecond
    this.now = now
  }

  /** Resolves once `bytes` may go; rejects with the signal's reason if it fires first. */
  async take (bytes: number, signal?: AbortSignal): Promise<void> {
    const now = this.now()
    // an idle budget keeps no credit: however long the pause, the burst is one second's worth
    this.nextAt = Math.max(this.nextAt, now) + (bytes / this.bytesPerSecond) * 1000
    const wait = this.nextAt - now - BURST_MS
    if (wait > 0) await sleep(wait, undefined, signal === undefined ? undefined : { signal })
    this.taken += bytes
  }

  /** Bytes let through since start: what repair read and wrote, and meant to (a stripe whose read failed counts too). */
  bytesTaken (): number {
    return this.taken
  }
}
