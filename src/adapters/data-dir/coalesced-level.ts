import type { Level } from 'level'

interface Waiter<T> { resolve: (value: T) => void, reject: (err: unknown) => void }

/**
 * Reads and unsynced writes of many callers as one `getMany` and one `batch`: what
 * arrives while one call is in flight goes in the next. A put resolves once its batch
 * is written, so a read the same caller makes after it sees it. The receipt ledger
 * makes a read and a write per chunk and holder; one LevelDB call each was most of an
 * owner's put of small files after the network.
 */
export class CoalescedLevel {
  private readonly db: Level<string, string>
  private readonly gets = new Map<string, Array<Waiter<string | undefined>>>()
  private readonly puts = new Map<string, string>()
  private putWaiters: Array<Waiter<void>> = []
  private reading: Promise<void> | undefined
  private writing: Promise<void> | undefined

  constructor (db: Level<string, string>) {
    this.db = db
  }

  async get (key: string): Promise<string | undefined> {
    return new Promise((resolve, reject) => {
      const waiters = this.gets.get(key)
      if (waiters === undefined) this.gets.set(key, [{ resolve, reject }])
      else waiters.push({ resolve, reject })
      this.reading ??= this.readAll().finally(() => { this.reading = undefined })
    })
  }

  /** The last value put for a key in one batch wins, as in the order of the calls. */
  async put (key: string, value: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.puts.delete(key)
      this.puts.set(key, value)
      this.putWaiters.push({ resolve, reject })
      this.writing ??= this.writeAll().finally(() => { this.writing = undefined })
    })
  }

  private async readAll (): Promise<void> {
    while (this.gets.size > 0) {
      const group = [...this.gets]
      this.gets.clear()
      try {
        const values = await this.db.getMany(group.map(([key]) => key))
        group.forEach(([, waiters], i) => { for (const w of waiters) w.resolve(values[i]) })
      } catch (err) {
        for (const [, waiters] of group) for (const w of waiters) w.reject(err)
      }
    }
  }

  private async writeAll (): Promise<void> {
    while (this.puts.size > 0) {
      const ops = [...this.puts].map(([key, value]) => ({ type: 'put' as const, key, value }))
      const waiters = this.putWaiters
      this.puts.clear()
      this.putWaiters = []
      try {
        await this.db.batch(ops)
        for (const w of waiters) w.resolve()
      } catch (err) {
        for (const w of waiters) w.reject(err)
      }
    }
  }
}
