import type { Level } from 'level'
import { StorageError } from '../../errors.ts'

/** A read-modify-write view of the database inside one group commit. */
export interface Transaction {
  get (key: string): Promise<string | undefined>
  put (key: string, value: string): void
  del (key: string): void
}

interface Queued {
  work: (tx: Transaction) => Promise<unknown>
  resolve: (value: unknown) => void
  reject: (err: unknown) => void
}

/**
 * Serialised, durable writes without one fsync per write: transactions queued while a
 * batch is being synced run next, one after the other against an overlay of each
 * other's changes, and commit together in one `sync: true` batch. A transaction
 * resolves only after its batch is on disk; one that throws leaves no change.
 */
export interface GroupCommitHooks {
  /** Reads a key not changed in the group (default `db.get`): a cache may answer if it holds what is committed. */
  read?: (key: string) => Promise<string | undefined>
  /** Told each group's changes once they are on disk, before any of its transactions resolves. */
  committed?: (changes: ReadonlyMap<string, string | null>) => void
}

export class GroupCommit {
  private readonly db: Level<string, string>
  private readonly hooks: GroupCommitHooks
  private readonly queue: Queued[] = []
  private flushing: Promise<void> | undefined

  constructor (db: Level<string, string>, hooks: GroupCommitHooks = {}) {
    this.db = db
    this.hooks = hooks
  }

  async run<T> (work: (tx: Transaction) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject })
      this.flushing ??= this.flush().finally(() => { this.flushing = undefined })
    })
  }

  /** Resolves when every queued transaction has settled. */
  async idle (): Promise<void> {
    while (this.flushing !== undefined) await this.flushing
  }

  private async flush (): Promise<void> {
    while (this.queue.length > 0) {
      const group = this.queue.splice(0)
      const overlay = new Map<string, string | null>()
      const committed: Array<{ item: Queued, value: unknown }> = []
      for (const item of group) {
        const local = new Map<string, string | null>()
        const tx: Transaction = {
          get: async (key) => {
            const staged = local.has(key) ? local.get(key) : overlay.get(key)
            if (staged !== undefined || local.has(key) || overlay.has(key)) return staged ?? undefined
            return this.hooks.read === undefined ? this.db.get(key) : this.hooks.read(key)
          },
          put: (key, value) => { local.set(key, value) },
          del: (key) => { local.set(key, null) }
        }
        try {
          const value = await item.work(tx)
          for (const [key, value] of local) overlay.set(key, value)
          committed.push({ item, value })
        } catch (err) {
          item.reject(err)
        }
      }
      try {
        if (overlay.size > 0) {
          await this.db.batch([...overlay].map(([key, value]) => value === null
            ? { type: 'del' as const, key }
            : { type: 'put' as const, key, value }), { sync: true })
        }
      } catch (err) {
        const failure = new StorageError(`LevelDB failed: ${(err as Error).message}`, { cause: err })
        for (const { item } of committed) item.reject(failure)
        continue
      }
      if (overlay.size > 0) this.hooks.committed?.(overlay)
      for (const { item, value } of committed) item.resolve(value)
    }
  }
}
