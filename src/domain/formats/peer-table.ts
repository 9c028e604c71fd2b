import type { FieldReader } from './strict-fields.ts'

/**
 * Peer ids in manifests and catalogues. A peer id is written in its libp2p text form
 * (`peerId.toString()`: base58btc of the multihash, `12D3Koo…` for Ed25519 keys). The
 * domain checks the spelling only (base58btc, at most MAX_PEER_ID_CHARS); whether it
 * names a key is the network adapter's business, when it dials the peer.
 *
 * In the encoded forms every peer id is written once, in a table (`peers`), and
 * referred to by its index: a 10 GB file has ~10,000 chunks with 3 holders each, and
 * 52-character ids repeated 30,000 times would be most of its manifest.
 */

export const MAX_PEER_ID_CHARS = 128

const BASE58BTC = /^[1-9A-HJ-NP-Za-km-z]+$/

export function isPeerIdText (value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_PEER_ID_CHARS && BASE58BTC.test(value)
}

/** Collects peer ids in order of first use and hands out their indexes. */
export class PeerTable {
  readonly peers: string[] = []
  private readonly indexes = new Map<string, number>()

  indexOf (peerId: string): number {
    let index = this.indexes.get(peerId)
    if (index === undefined) {
      index = this.peers.length
      this.peers.push(peerId)
      this.indexes.set(peerId, index)
    }
    return index
  }
}

/**
 * Reads an encoded `peers` table and resolves indexes into it. `assertAllUsed` at the
 * end makes the table canonical: distinct ids, each referred to at least once.
 */
export class PeerTableReader {
  private readonly peers: string[]
  private readonly used: boolean[]
  private readonly fields: FieldReader

  constructor (value: unknown, fields: FieldReader, maxPeers: number) {
    this.fields = fields
    this.peers = fields.array(value, 'peers', maxPeers).map((peer, i) => {
      if (!isPeerIdText(peer)) throw fields.fail(`peers[${i}]`, 'must be a base58btc peer id')
      return peer
    })
    if (new Set(this.peers).size !== this.peers.length) throw fields.fail('peers', 'must not repeat a peer id')
    this.used = this.peers.map(() => false)
  }

  /** The peer id at index `value`. */
  resolve (value: unknown, what: string): string {
    const index = this.fields.integer(value, what, 0, this.peers.length - 1)
    this.used[index] = true
    return this.peers[index]!
  }

  /** A list of distinct peer indexes, resolved. */
  resolveList (value: unknown, what: string, maxLength: number): string[] {
    const list = this.fields.array(value, what, maxLength).map((v, i) => this.resolve(v, `${what}[${i}]`))
    if (new Set(list).size !== list.length) throw this.fields.fail(what, 'must not repeat a peer')
    return list
  }

  assertAllUsed (): void {
    const unused = this.used.indexOf(false)
    if (unused !== -1) throw this.fields.fail(`peers[${unused}]`, 'is not referred to')
  }
}
