import type { PackRef } from '../../domain/formats/pack.ts'
import { sliceOfPack } from '../../domain/formats/pack.ts'
import { chunkIdMatches } from '../../domain/formats/chunk-id.ts'
import { ChunkIdMismatchError } from '../../domain/protocol/federation-errors.ts'
import { NotFoundError } from '../../errors.ts'
import type { PeerSessions } from './peer-sessions.ts'

/** Packs one operation keeps read: the files of a pack are restored together, and one fetch serves them all. */
const KEPT_PACKS = 8

/** A pack as one operation reads it: fetched once, and kept while later files may slice it. */
interface KeptPack {
  bytes: Promise<Uint8Array>
}

/**
 * The packs (pack.ts) of one get, each fetched once from the first holder that has it
 * and kept for the operation's other files of it: a restore of a thousand small files
 * reads tens of packs, not a thousand chunks. The pack's bytes are checked against its
 * id before they are kept, so a kept pack is the pack; a slice that is not
 * its chunk is refused by sliceOfPack. At most KEPT_PACKS settled packs are kept
 * (least recently sliced goes first), so the operation holds a few MiB whatever the
 * tree; a pack being fetched is shared by every file waiting for it.
 */
export class PackReads {
  private readonly sessions: PeerSessions
  private readonly kept = new Map<string, KeptPack>()
  private readonly keep: number

  constructor (sessions: PeerSessions, keep = KEPT_PACKS) {
    this.sessions = sessions
    this.keep = keep
  }

  /**
   * The sealed chunk `chunkId` that `ref` places in a pack held by `holders` (in the
   * order to try) under the commitment of `secret`. A holder that fails or answers with
   * another pack is passed over; the last failure is thrown when none had it.
   */
  async slice (ref: PackRef, chunkId: string, holders: readonly string[], secret: bigint): Promise<Uint8Array> {
    const pack = await this.packOf(ref.id, holders, secret)
    return sliceOfPack(pack, ref, chunkId)
  }

  /** The whole pack `id`, read as `slice` reads it. */
  async pack (id: string, holders: readonly string[], secret: bigint): Promise<Uint8Array> {
    return this.packOf(id, holders, secret)
  }

  private async packOf (id: string, holders: readonly string[], secret: bigint): Promise<Uint8Array> {
    let kept = this.kept.get(id)
    if (kept !== undefined) {
      // most recently sliced last: the first in the map is the next to go
      this.kept.delete(id)
      this.kept.set(id, kept)
      return kept.bytes
    }
    kept = { bytes: this.fetch(id, holders, secret) }
    this.kept.set(id, kept)
    const entry = kept
    // a failed fetch is not kept: the next file of the pack tries its holders again
    entry.bytes.catch(() => { if (this.kept.get(id) === entry) this.kept.delete(id) })
    while (this.kept.size > this.keep) this.kept.delete(this.kept.keys().next().value!)
    return entry.bytes
  }

  private async fetch (id: string, holders: readonly string[], secret: bigint): Promise<Uint8Array> {
    if (holders.length === 0) throw new NotFoundError(`pack ${id} is on no holder`)
    let failure: unknown
    for (const peer of this.sessions.inOrder([...holders])) {
      try {
        const bytes = await this.sessions.get(peer, secret, id)
        // checked here too, not only by the transport: a kept pack serves every file of it
        if (!chunkIdMatches(id, bytes)) throw new ChunkIdMismatchError(`pack ${id} from ${peer} does not match its id`)
        return bytes
      } catch (err) {
        failure = err
      }
    }
    throw failure
  }
}
