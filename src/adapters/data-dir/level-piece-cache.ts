import type { Level } from 'level'
import { openDataDirLevel } from './open-level.ts'
import { ClosedError, DataDirError, throwIfAborted } from '../../errors.ts'
import type { AbortOptions } from '../../ports/abort-options.ts'
import type { PieceCache } from '../../ports/piece-cache.ts'

/**
 * PieceCache in LevelDB (the data directory's `manifests/`): one key per chunk id, the
 * sealed piece in base64 (the data directory's LevelDBs keep utf8 values). Writes are
 * not synced: a piece lost in a crash is read from a holder again.
 */
export class LevelPieceCache implements PieceCache {
  private readonly db: Level<string, string>
  private closed = false

  private constructor (db: Level<string, string>) {
    this.db = db
  }

  static async open (location: string): Promise<LevelPieceCache> {
    return new LevelPieceCache(await openDataDirLevel(location))
  }

  async get (ids: string[], options?: AbortOptions): Promise<Map<string, Uint8Array>> {
    this.check(options)
    const found = new Map<string, Uint8Array>()
    if (ids.length === 0) return found
    const values = await this.medium('read', async () => this.db.getMany(ids))
    values.forEach((value, i) => {
      if (value !== undefined) found.set(ids[i]!, new Uint8Array(Buffer.from(value, 'base64')))
    })
    return found
  }

  async put (pieces: Array<[id: string, piece: Uint8Array]>, options?: AbortOptions): Promise<void> {
    this.check(options)
    if (pieces.length === 0) return
    await this.medium('write', async () => this.db.batch(pieces.map(([key, piece]) => ({ type: 'put' as const, key, value: Buffer.from(piece).toString('base64') }))))
  }

  async retain (live: ReadonlySet<string>, options?: AbortOptions): Promise<number> {
    this.check(options)
    const stale: string[] = []
    await this.medium('read', async () => {
      for await (const key of this.db.keys()) if (!live.has(key)) stale.push(key)
    })
    if (stale.length > 0) await this.medium('write', async () => this.db.batch(stale.map((key) => ({ type: 'del' as const, key }))))
    return stale.length
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.db.close()
  }

  private async medium<T> (what: string, act: () => Promise<T>): Promise<T> {
    try {
      return await act()
    } catch (err) {
      throw new DataDirError(`cannot ${what} the manifest cache: ${(err as Error).message}`, { cause: err })
    }
  }

  private check (options?: AbortOptions): void {
    if (this.closed) throw new ClosedError('the manifest cache is closed')
    throwIfAborted(options?.signal)
  }
}
