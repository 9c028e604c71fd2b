import type { AbortOptions } from './abort-options.ts'

/** Replaced pieces an old holder is to delete when it answers again (RepairService). */
export interface PendingDeletion {
  /** The old holder's peer id. */
  peer: string
  /** The file whose pieces they are, 32 hex digits. */
  fileId: string
  /** The batch (32 hex digits) whose delete secret the pieces are under, for a file of a batch. */
  batch?: string
  /** Ids of the pieces. */
  ids: string[]
}

/** What the owner's repair remembers across daemon restarts. */
export interface RepairState {
  /** Holders an audit caught: never chosen again. */
  distrusted: string[]
  /** Replaced pieces not deleted yet: without them, a holder back after a restart would keep them until their lease ran out. */
  deletions: PendingDeletion[]
  /** Shards rebuilt, and pieces audited by verdict, since the state was first written. */
  repairedShards: number
  audits: { passed: number, failed: number }
  /**
   * Per holder, when (ms since the epoch) the owner last renewed every record it keeps
   * there: an audit's "not found" after a lease's length without one is an expired
   * lease, not a lost piece (RepairService). Absent in states from before it.
   */
  renewedAt?: Record<string, number>
  /**
   * Per holder, the chunk ids the first renewal after a lease's length without one found
   * missing there: they may have lapsed honestly, so an audit's "not found" for them is
   * no loss. Without it, a daemon restarted between that renewal and the next audit
   * distrusted an honest holder for good. Absent in states from before it.
   */
  lapsedInGap?: Record<string, string[]>
}

/**
 * RepairStateStore: the owner's repair state in its data directory.
 *
 * Contract:
 * - `load` resolves to the state last saved, or undefined when none was ever saved.
 * - `save` replaces the whole state atomically: a crash leaves the old state or the
 *   new one, never a mix. It resolves once the state is durable. Saves are not
 *   concurrent: the caller waits for one before it starts the next.
 * - How long a holder has been away is not part of it on purpose: a restarted daemon
 *   has not watched its peers meanwhile, and would take every peer not yet
 *   rediscovered for one away since before the restart, and rebuild its pieces.
 * - After `close`, calls reject with ClosedError; `close` is idempotent.
 * - A stored value that does not parse as a state is StorageError on `load`.
 */
export interface RepairStateStore {
  load (options?: AbortOptions): Promise<RepairState | undefined>
  save (state: RepairState, options?: AbortOptions): Promise<void>
  close (): Promise<void>
}
