/**
 * The promises a store has handed out and not yet settled, so `close` can wait for
 * them instead of pulling the medium from under a write.
 */
export class PendingWork {
  private readonly pending = new Set<Promise<unknown>>()

  async track<T> (work: Promise<T>): Promise<T> {
    this.pending.add(work)
    try {
      return await work
    } finally {
      this.pending.delete(work)
    }
  }

  /** Resolves when everything tracked so far has settled. */
  async settled (): Promise<void> {
    await Promise.allSettled([...this.pending])
  }
}
