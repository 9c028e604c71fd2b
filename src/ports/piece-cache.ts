import type { AbortOptions } from './abort-options.ts'

/**
 * PieceCache: sealed manifest pieces the owner has read before, by chunk id, kept in
 * its data directory. Reading a manifest from a holder costs a proof of the file's
 * manifest secret; a daemon that restarts would otherwise pay one per file on its
 * first lease, audit and repair rounds. A piece is content-addressed, so what the
 * cache returns is checked against its id by the caller, and a manifest is opened and
 * its signature checked as if it came from a holder: a damaged or planted entry is a
 * miss, never a wrong manifest.
 *
 * Contract:
 * - `get` resolves to the pieces it has among `ids` (absent ids are left out).
 * - `put` adds pieces; a piece already there is replaced by the same bytes.
 * - `retain` drops every piece whose id is not in `live` and resolves to how many it dropped.
 * - Values are copied both ways. A failure of the medium rejects with DataDirError;
 *   callers treat any failure as a miss (it is only a cache).
 * - After `close`, calls reject with ClosedError; `close` is idempotent.
 */
export interface PieceCache {
  get (ids: string[], options?: AbortOptions): Promise<Map<string, Uint8Array>>
  put (pieces: Array<[id: string, piece: Uint8Array]>, options?: AbortOptions): Promise<void>
  retain (live: ReadonlySet<string>, options?: AbortOptions): Promise<number>
  close (): Promise<void>
}
