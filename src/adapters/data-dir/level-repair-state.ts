import type { Level } from 'level'
import { openDataDirLevel } from './open-level.ts'
import { ClosedError, StorageError, throwIfAborted } from '../../errors.ts'
import type { AbortOptions } from '../../ports/abort-options.ts'
import type { RepairState, RepairStateStore } from '../../ports/repair-state.ts'

/** The one key: the state is a few peers and a few ids per repaired file, written whole. */
const STATE = 'state'

/**
 * RepairStateStore in LevelDB (the data directory's `repair/`): the whole state as one
 * value, put with sync, so a save is atomic and durable without a temp file and rename.
 */
export class LevelRepairStateStore implements RepairStateStore {
  private readonly db: Level<string, string>
  private closed = false

  private constructor (db: Level<string, string>) {
    this.db = db
  }

  static async open (location: string): Promise<LevelRepairStateStore> {
    const db = await openDataDirLevel(location)
    return new LevelRepairStateStore(db)
  }

  async load (options?: AbortOptions): Promise<RepairState | undefined> {
    this.check(options)
    const value = await this.db.get(STATE)
    if (value === undefined) return undefined
    try {
      return parseState(JSON.parse(value))
    } catch (err) {
      throw new StorageError(`the repair state in LevelDB does not parse: ${(err as Error).message}`, { cause: err })
    }
  }

  async save (state: RepairState, options?: AbortOptions): Promise<void> {
    this.check(options)
    await this.db.put(STATE, JSON.stringify(state), { sync: true })
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.db.close()
  }

  private check (options?: AbortOptions): void {
    if (this.closed) throw new ClosedError('the repair state store is closed')
    throwIfAborted(options?.signal)
  }
}

/** The state as written, every field checked: a hand-edited or truncated value is refused whole. */
function parseState (value: any): RepairState {
  const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string')
  const count = (v: unknown): number => {
    if (!Number.isSafeInteger(v) || (v as number) < 0) throw new Error('a count is not a non-negative integer')
    return v as number
  }
  if (typeof value !== 'object' || value === null || !strings(value.distrusted) || !Array.isArray(value.deletions)) throw new Error('not a repair state')
  const deletions = value.deletions.map((d: any) => {
    if (typeof d?.peer !== 'string' || typeof d.fileId !== 'string' || !strings(d.ids) || (d.batch !== undefined && typeof d.batch !== 'string')) throw new Error('a pending deletion is malformed')
    return { peer: d.peer, fileId: d.fileId, ids: d.ids, ...(d.batch === undefined ? {} : { batch: d.batch }) }
  })
  if (value.renewedAt !== undefined && (typeof value.renewedAt !== 'object' || value.renewedAt === null || Array.isArray(value.renewedAt))) throw new Error('renewal times are malformed')
  const renewedAt = value.renewedAt === undefined ? undefined : Object.fromEntries(Object.entries(value.renewedAt as object).map(([peer, at]) => [peer, count(at)]))
  if (value.lapsedInGap !== undefined && (typeof value.lapsedInGap !== 'object' || value.lapsedInGap === null || Array.isArray(value.lapsedInGap) ||
    !Object.values(value.lapsedInGap as object).every(strings))) throw new Error('lapsed pieces are malformed')
  return {
    distrusted: value.distrusted, deletions, repairedShards: count(value.repairedShards), audits: { passed: count(value.audits?.passed), failed: count(value.audits?.failed) },
    ...(renewedAt === undefined ? {} : { renewedAt }),
    ...(value.lapsedInGap === undefined ? {} : { lapsedInGap: value.lapsedInGap as Record<string, string[]> })
  }
}
