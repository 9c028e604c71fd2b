import { readFile } from 'node:fs/promises'
import { defineError, InvalidInputError } from '../../errors.ts'
import { peerIdFromString } from '@libp2p/peer-id'
import { isPeerIdText } from '../../domain/formats/peer-table.ts'
import type { TrustedPeer, TrustList } from '../../app/admission/allowances.ts'
import { KeyedMutex } from '../../util/keyed-mutex.ts'
import { writeAtomic } from './data-dir.ts'

/** The trust file exists but is not a trust list this version reads: nothing was changed. */
export const TrustFileError = defineError('TrustFileError', 'trust-file')

const FORMAT = 1
const MAX_NAME_CHARS = 64
// printable, no quotes or backslashes: names are shown in tables and logs as they are
const NAME = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/

/**
 * The operator's trusted peers as one JSON file in the data directory (`trust.json`),
 * read once at open and rewritten atomically on each change. A damaged file stops
 * the daemon with TrustFileError instead of being replaced: it is the operator's own
 * list, and starting with an empty one would hand its peers' room to strangers.
 */
export class TrustStore implements TrustList {
  private readonly path: string
  private readonly peers: Map<string, TrustedPeer>
  private readonly writes = new KeyedMutex()

  private constructor (path: string, peers: Map<string, TrustedPeer>) {
    this.path = path
    this.peers = peers
  }

  static async open (path: string): Promise<TrustStore> {
    let text: string
    try {
      text = await readFile(path, 'utf8')
    } catch (err: any) {
      if (err?.code === 'ENOENT') return new TrustStore(path, new Map())
      throw new TrustFileError(`cannot read ${path}: ${err?.message}`, { cause: err })
    }
    return new TrustStore(path, parseTrustFile(text, path))
  }

  get (peerId: string): TrustedPeer | undefined {
    return this.peers.get(peerId)
  }

  list (): TrustedPeer[] {
    return [...this.peers.values()].sort((a, b) => a.peerId < b.peerId ? -1 : 1)
  }

  /** Adds the peer, or changes its quota and name. */
  async add (peer: Omit<TrustedPeer, 'addedAt'>, now = Date.now()): Promise<TrustedPeer> {
    const entry = checkPeer({ ...peer, addedAt: this.peers.get(peer.peerId)?.addedAt ?? now }, InvalidInputError, 'peer')
    return this.change((next) => { next.set(entry.peerId, entry) }).then(() => entry)
  }

  /** Whether the peer was trusted. */
  async remove (peerId: string): Promise<boolean> {
    if (!this.peers.has(peerId)) return false
    await this.change((next) => { next.delete(peerId) })
    return true
  }

  // the file first, then memory: a failed write leaves both as they were
  private async change (edit: (next: Map<string, TrustedPeer>) => void): Promise<void> {
    await this.writes.run('file', async () => {
      const next = new Map(this.peers)
      edit(next)
      const json = JSON.stringify({ format: FORMAT, peers: [...next.values()] }, null, 2) + '\n'
      try {
        await writeAtomic(this.path, json, 0o600)
      } catch (err: any) {
        throw new TrustFileError(`cannot write ${this.path}: ${err?.message}`, { cause: err })
      }
      this.peers.clear()
      for (const [id, p] of next) this.peers.set(id, p)
    })
  }
}

function parseTrustFile (text: string, path: string): Map<string, TrustedPeer> {
  let raw: any
  try {
    raw = JSON.parse(text)
  } catch (err) {
    throw new TrustFileError(`${path} is not JSON; fix or move it (nothing was changed)`, { cause: err })
  }
  if (raw === null || typeof raw !== 'object' || raw.format !== FORMAT || !Array.isArray(raw.peers)) {
    throw new TrustFileError(`${path}: expected {"format": ${FORMAT}, "peers": [...]}; fix or move it (nothing was changed)`)
  }
  const peers = new Map<string, TrustedPeer>()
  raw.peers.forEach((value: unknown, i: number) => {
    const peer = checkPeer(value, TrustFileError, `${path}: peers[${i}]`)
    if (peers.has(peer.peerId)) throw new TrustFileError(`${path}: peers[${i}] repeats ${peer.peerId}`)
    peers.set(peer.peerId, peer)
  })
  return peers
}

function checkPeer (value: unknown, Err: new (message: string) => Error, where: string): TrustedPeer {
  const p = value as Partial<TrustedPeer> | null
  if (p === null || typeof p !== 'object') throw new Err(`${where} must be an object`)
  const keys = Object.keys(p).sort().join(',')
  if (keys !== 'addedAt,name,peerId,quota') throw new Err(`${where} must have exactly peerId, quota, name and addedAt`)
  if (!isPeerId(p.peerId)) throw new Err(`${where}: peerId must be a peer id (base58btc, as \`quloud peers\` shows it)`)
  if (!Number.isSafeInteger(p.quota) || p.quota! < 0) throw new Err(`${where}: quota must be a whole number of bytes`)
  if (typeof p.name !== 'string' || p.name.length > MAX_NAME_CHARS || !NAME.test(p.name)) {
    throw new Err(`${where}: name must be up to ${MAX_NAME_CHARS} printable characters without quotes or backslashes`)
  }
  if (!Number.isSafeInteger(p.addedAt) || p.addedAt! < 0) throw new Err(`${where}: addedAt must be milliseconds since the epoch`)
  return { peerId: p.peerId, quota: p.quota!, name: p.name, addedAt: p.addedAt! }
}

// parsed, not only matched: a mistyped id would trust nobody and say nothing
function isPeerId (value: unknown): value is string {
  if (!isPeerIdText(value)) return false
  try {
    return peerIdFromString(value).toString() === value
  } catch {
    return false
  }
}
