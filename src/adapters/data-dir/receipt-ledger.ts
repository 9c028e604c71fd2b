import type { Level } from 'level'
import { openDataDirLevel } from './open-level.ts'
import type { ReceiptTally, RoomThere } from '../../app/admission/allowances.ts'
import { KeyedMutex } from '../../util/keyed-mutex.ts'
import { addCount } from '../../util/counts.ts'
import { CoalescedLevel } from './coalesced-level.ts'

// <peer>!<chunk>!<delete commitment> -> bytes; #room!<peer> -> {"bytes","atMs"}
// ('#' is not in base58, so no peer id begins with it)
const SEP = '!'
const ROOM = '#room!'

/**
 * The receipts this node's owner side holds, per storage peer, in LevelDB (the data
 * directory's `receipts/`): what reciprocity credits a peer with. Totals are kept in
 * memory, rebuilt at open, so admission reads them without I/O. A receipt is not
 * synced: a crash may forget the last ones, which only credits a peer with less than it
 * earned, and a put does not wait for one fsync per chunk and copy. A removal is: a
 * forgotten one would credit a peer with what it no longer keeps for us.
 */
export class ReceiptLedger implements ReceiptTally {
  private readonly db: Level<string, string>
  private readonly totals = new Map<string, number>()
  private readonly rooms = new Map<string, RoomThere>()
  private readonly locks = new KeyedMutex()
  /** Receipts and rooms come one per chunk and holder: their reads and writes go together. */
  private readonly coalesced: CoalescedLevel

  private constructor (db: Level<string, string>) {
    this.db = db
    this.coalesced = new CoalescedLevel(db)
  }

  static async open (location: string): Promise<ReceiptLedger> {
    const db = await openDataDirLevel(location)
    const ledger = new ReceiptLedger(db)
    for await (const [key, value] of db.iterator()) {
      if (key.startsWith(ROOM)) {
        const room = parseRoom(value)
        if (room !== undefined) ledger.rooms.set(key.slice(ROOM.length), room)
        continue
      }
      const peer = key.slice(0, key.indexOf(SEP))
      ledger.totals.set(peer, (ledger.totals.get(peer) ?? 0) + Number(value))
    }
    return ledger
  }

  bytesOn (peerId: string): number {
    return this.totals.get(peerId) ?? 0
  }

  peers (): string[] {
    return [...this.totals.keys()]
  }

  roomOn (peerId: string): RoomThere | undefined {
    return this.rooms.get(peerId)
  }

  /**
   * What `peerId` last said it would still take from this node. Kept unsynced, like a
   * receipt: it is informative, and a put must not wait for one fsync per answer.
   */
  async room (peerId: string, bytes: number, atMs = Date.now()): Promise<void> {
    if (!Number.isSafeInteger(bytes) || bytes < 0 || peerId.length === 0) return
    const room = { bytes, atMs }
    this.rooms.set(peerId, room)
    await this.coalesced.put(ROOM + peerId, JSON.stringify(room))
  }

  /** A receipt for `bytes` of (chunk, D) on `peerId`; storing the same again counts once. */
  async stored (peerId: string, chunkId: string, deleteCommitment: string, bytes: number): Promise<void> {
    const key = peerId + SEP + chunkId + SEP + deleteCommitment
    await this.locks.run(key, async () => {
      // under the key's lock: the read sees the last write of this key, which has resolved
      const previous = Number(await this.coalesced.get(key) ?? 0)
      await this.coalesced.put(key, String(bytes))
      this.add(peerId, bytes - previous)
    })
  }

  /** The peer no longer holds (chunk, D): deleted, or it said it had nothing there. */
  async deleted (peerId: string, chunkId: string, deleteCommitment: string): Promise<void> {
    const key = peerId + SEP + chunkId + SEP + deleteCommitment
    await this.locks.run(key, async () => {
      const previous = await this.db.get(key)
      if (previous === undefined) return
      await this.db.del(key, { sync: true })
      this.add(peerId, -Number(previous))
    })
  }

  /** The peer holds nothing of `chunkId` for us: every receipt of it there goes. */
  async lost (peerId: string, chunkId: string): Promise<void> {
    const prefix = peerId + SEP + chunkId + SEP
    for (const key of await this.db.keys({ gt: prefix, lt: prefix + '\xff' }).all()) {
      await this.deleted(peerId, chunkId, key.slice(prefix.length))
    }
  }

  async close (): Promise<void> {
    await this.db.close()
  }

  private add (peerId: string, bytes: number): void {
    addCount(this.totals, peerId, bytes)
  }
}

function parseRoom (value: string): RoomThere | undefined {
  try {
    const room = JSON.parse(value) as RoomThere
    return Number.isSafeInteger(room.bytes) && Number.isSafeInteger(room.atMs) ? { bytes: room.bytes, atMs: room.atMs } : undefined
  } catch {
    return undefined
  }
}
