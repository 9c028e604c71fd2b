import type { AbortOptions } from './abort-options.ts'

/**
 * The owner's journal of work in flight: what was sent to storage nodes and is not yet
 * in a committed catalogue generation, and deletes not yet acknowledged. The owner's
 * daemon finishes or undoes it in the background (app/owner/work-in-flight.ts), so a
 * Ctrl-C, a killed daemon or an offline holder leaves no bytes behind for good.
 *
 * Records name ids only (file, batch and chunk ids, peer ids), never a key or a name:
 * every secret they need is derived again from the master secret.
 *
 * - `put`: a command started storing under batch `batch`; its op is the batch id.
 * - `file`: the op is about to send the file `fileId` to `holders` (batched or not).
 * - `manifest`: the op is about to store the pieces `ids` of that file's manifest (on
 *   `holders`, under the delete commitment of `batch` when the file is batched).
 * - `share`: a share started storing what it needs before the catalogue records it: the
 *   manifests of batched files (`manifest`), and the listing of tree `tree` when it is
 *   the tree's first share. Undone unless the catalogue generation recording it commits.
 * - `stored`: every chunk of the op's batched file `fileId` was acknowledged by the
 *   holders listed with it; with its size, mode, time and keyed content hash, a re-run
 *   of the put after the daemon died adopts it instead of sending it again
 *   (app/owner/put-resume.ts).
 * - `file` may carry the file's `shape` (size, mode, time, scheme) when it is sent outside
 *   a batch (over 16 MiB, or erasure-coded): its acknowledged units (`sent`) may then be
 *   adopted by a re-run of the put with the file's id kept.
 * - `sent`: unit `unit` of the op's file `fileId` (a chunk of a replicated file, a stripe
 *   of an erasure-coded one) was acknowledged: its pieces, each with the holders that
 *   kept it, their receipts and (a shard) its Merkle root; `hash` is the owner's keyed
 *   hash of the unit's plaintext (put-resume.ts `unitHash`), which tells a re-run that
 *   its bytes are those stored without fetching or re-sealing anything.
 * - `taken`: a re-run of a put took the op's file `fileId` over (its own `file` record,
 *   journaled first, names it now): this op neither offers it for a resume nor undoes it.
 * - `delete`: chunk and piece ids of file `fileId` (of `batch`, when batched) that `peer`
 *   still holds and no catalogue entry needs; deleted when the peer is back.
 * - `done`: the op is over (committed, or undone everywhere); its records can go.
 */
export type JournalRecord =
  | { kind: 'put', op: string, batch: string, at: number }
  | { kind: 'file', op: string, fileId: string, batched: boolean, holders: string[], shape?: FileShape }
  | { kind: 'sent', op: string, fileId: string, unit: number, hash: string, pieces: SentPiece[] }
  | { kind: 'taken', op: string, fileId: string }
  | { kind: 'manifest', op: string, fileId: string, ids: string[], batch?: string, holders?: string[] }
  | { kind: 'share', op: string, at: number, tree?: string }
  /** `pack`: the file's one chunk is the slice [offset, offset + length) of this pack (pack.ts), which is what its holders keep. */
  | { kind: 'stored', op: string, fileId: string, size: number, mode: number, mtimeMs: number, contentHash: string, chunks: Array<[string, string[]]>, pack?: [string, number, number] }
  | { kind: 'delete', op: string, peer: string, fileId: string, batch?: string, ids: string[], at: number }
  | { kind: 'done', op: string }

/** What a re-run must match to adopt a file's units: its size, mode, time and scheme. */
export interface FileShape {
  size: number
  mode: number
  mtimeMs: number
  /** Copies per chunk, for a replicated file. */
  replicas?: number
  /** The scheme of an erasure-coded file. */
  erasure?: { data: number, parity: number }
}

/** One acknowledged piece of a `sent` unit: its flat index in the file, id, plaintext size, holders, receipts ([peer, time, signature]) and Merkle root. */
export interface SentPiece {
  at: number
  id: string
  size: number
  holders: string[]
  receipts: Array<[string, number, string]>
  root?: string
}

/**
 * Contract:
 * - `append` resolves once the record would survive the daemon being killed (written to
 *   the file system; a power cut may lose the last records, which costs orphans, not data).
 * - `read` gives every record appended and not compacted away, in order; a torn last
 *   record (a crash in mid-write) is skipped.
 * - `compact` keeps only the records `keep` accepts, atomically, ordered after every
 *   append that resolved before it began.
 * - A failure of the medium rejects with DataDirError; an aborted signal with AbortError.
 */
export interface WorkJournal {
  append (record: JournalRecord, options?: AbortOptions): Promise<void>
  read (options?: AbortOptions): Promise<JournalRecord[]>
  compact (keep: (record: JournalRecord) => boolean, options?: AbortOptions): Promise<void>
}
