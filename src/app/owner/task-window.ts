/**
 * A window of tasks running at once, for pipelines that read ahead while earlier items
 * are still on the wire: `add` waits while the window is full and rethrows the first
 * failure it sees, so the producer stops reading; `settle` lets the rest finish before
 * the caller gives up, so nothing is sent after the operation failed.
 */
export class TaskWindow {
  private readonly limit: number
  private readonly running = new Set<Promise<void>>()

  constructor (limit: number) {
    this.limit = limit
  }

  async add (task: Promise<void>): Promise<void> {
    task.catch(() => {}) // seen by add, drain or settle
    this.running.add(task)
    void task.finally(() => this.running.delete(task)).catch(() => {})
    while (this.running.size >= this.limit) await Promise.race(this.running)
  }

  /** Every task done; the first failure, if any. */
  async drain (): Promise<void> {
    await Promise.all(this.running)
  }

  /** Every task settled, failed or not. */
  async settle (): Promise<void> {
    await Promise.allSettled(this.running)
  }
}
