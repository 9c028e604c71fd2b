import { setTimeout as sleep } from 'node:timers/promises'
import { ClosedError } from '../errors.ts'
import type { Logger } from '../ports/logger.ts'

/** One piece of background work; it must end soon after `signal` fires. */
export type BackgroundTask = (signal: AbortSignal) => Promise<unknown>

/**
 * Work that runs beside a part of the daemon for as long as that part lives (orphan
 * collection now; repair and audits later). Every task gets the same signal, and
 * `stop` fires it and waits for every task to settle, so no task touches a store
 * after the store is closed. A failure is logged, never thrown: a daemon does not die
 * because one sweep failed. Nothing can be registered after `stop`, so no work
 * outlives the part it belongs to.
 */
export class BackgroundTasks {
  private readonly log: Logger
  private readonly controller = new AbortController()
  private readonly running = new Set<Promise<void>>()

  constructor (log: Logger) {
    this.log = log
  }

  /** Runs `task` once, starting now. */
  run (name: string, task: BackgroundTask): void {
    this.track(async (signal) => this.attempt(name, task, signal))
  }

  /** Runs `task` now, then again `intervalMs` after each run ends (runs never overlap). */
  every (name: string, intervalMs: number, task: BackgroundTask): void {
    this.track(async (signal) => {
      while (!signal.aborted) {
        await this.attempt(name, task, signal)
        await sleep(intervalMs, undefined, { signal }).catch(() => {})
      }
    })
  }

  /** Tasks started and not yet settled. */
  get size (): number {
    return this.running.size
  }

  /** Aborts every task and resolves once all of them have settled. */
  async stop (): Promise<void> {
    this.controller.abort()
    await Promise.all([...this.running])
  }

  private track (body: (signal: AbortSignal) => Promise<void>): void {
    const { signal } = this.controller
    if (signal.aborted) throw new ClosedError('background tasks are stopped; nothing new can start')
    const work = body(signal).finally(() => { this.running.delete(work) })
    this.running.add(work)
  }

  private async attempt (name: string, task: BackgroundTask, signal: AbortSignal): Promise<void> {
    try {
      await task(signal)
    } catch (err) {
      // a task that ends because it was told to stop has not failed
      if (!signal.aborted) this.log.warn(`${name} failed`, err)
    }
  }
}
