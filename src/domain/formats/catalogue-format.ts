import { defineError } from '../../errors.ts'
import type { ChunkId } from './chunk-id.ts'
import { CHUNK_SIZE } from './chunker.ts'
import { OWNER_CHUNK_OVERHEAD } from '../crypto/owner-layer.ts'
import { packRefProblem, type PackRef } from './pack.ts'
import { MAX_HOLDERS_PER_CHUNK, MAX_MANIFEST_PIECES } from './manifest.ts'
import { PeerTable, PeerTableReader } from './peer-table.ts'
import { belowALeaf, linkTargetProblem, relativePathProblem } from './relative-path.ts'
import { FieldReader } from './strict-fields.ts'

/**
 * The catalogue's format: its types, and its encoding as UTF-8 JSON with a peer table
 * (peer-table.ts), read back strictly. catalogue.ts has its life cycle and sealing;
 * protocol-spec/manifests-and-catalogue.md is normative.
 */

/** Where one piece of a file's sealed manifest is. */
export interface ManifestPieceRef {
  id: ChunkId
  holders: string[]
}

/** One data chunk of a batched file: where it is, and since version 6, the pack it is a slice of. */
export interface BatchedChunkRef extends ManifestPieceRef {
  /**
   * Version 6, a file of one chunk only: the chunk is a slice of this pack (pack.ts),
   * which `holders` hold; the chunk is not stored alone.
   */
  pack?: PackRef
}

export interface CatalogueGroup {
  /** 32 lowercase hex digits, random per `put` of a directory. */
  id: string
  /** The directory's name: the first segment of every name in the group. */
  root: string
  /** Version 3: which `put` of a directory of this name (1 when absent); the highest is the newest. */
  version?: number
  /** Version 3: unix ms of that `put`. */
  storedAt?: number
}

export interface CatalogueEntry {
  /** 32 lowercase hex digits; a directory entry's id is random too and names nothing else. */
  fileId: string
  /** Relative path (relative-path.ts); inside a group, `root` or `root/...`. */
  name: string
  kind: 'file' | 'directory' | 'symlink'
  /** 0 for a directory and a link. */
  size: number
  mode: number
  mtimeMs: number
  /** Links only (version 3): what the link points at, verbatim. */
  target?: string
  /**
   * Files only, optional (version 3): 64 hex digits, HMAC-SHA256 of the content under the
   * owner's content-hash key (content-hash.ts): how `get --skip-existing` knows a file
   * on disk is the stored one without fetching it.
   */
  contentHash?: string
  /**
   * Files only, optional (version 4): 32 hex digits, the owner's keyed stamp of the file's
   * device, inode and change time when it was put (content-hash.ts, statStamp). A re-put
   * finding the same stamp does not read the file again to hash it: the change time moves
   * on every write and no program can set it back (restic and git decide alike).
   */
  statStamp?: string
  group?: CatalogueGroup
  /** Version 3, entries without a group: which `put` of a file of this name (1 when absent). */
  version?: number
  /** Version 3, entries without a group: unix ms of that `put`. */
  storedAt?: number
  /**
   * Files only: the pieces of the file's manifest (one sealing), in any order. Since
   * version 4 a batched file has none until it is shared: its entry names its chunks,
   * which is all the owner reads it by, and a manifest is what a share code opens.
   */
  manifest?: ManifestPieceRef[]
  /**
   * Version 3, files only: 32 hex digits, the batch (batches.ts) whose commitments the
   * file's records are stored under instead of the file's own, with `chunks`.
   */
  batch?: string
  /**
   * With `batch` only: the file's data chunks in order (chunks of CHUNK_SIZE, the last
   * shorter) and their holders, as its manifest has them, so that the owner reads and
   * deletes a batched file without proving for its manifest.
   */
  chunks?: BatchedChunkRef[]
  /** The shares given of this file, or of this directory's tree, oldest first (`quloud shares`). */
  shares?: ShareRecord[]
}

/**
 * One `quloud share` of a file. Every share of one file is the same read capability
 * (the file's), so revoking one revokes all of them: the file is rotated to a new id.
 */
export interface ShareRecord {
  /** For the owner: who it was for (at most 200 characters, may be empty). */
  label: string
  /** Unix ms. */
  createdAt: number
  /** Unix ms after which the owner's node revokes it by rotating the file. */
  expiresAt?: number
}

export interface Catalogue {
  /**
   * Writers write 4, and 6 once a file is packed (catalogueVersionFor); readers accept
   * 2 (no links, no content hashes) and 3 (every file with a manifest) too. 5 is only a
   * delta's document version (catalogue-delta.ts), as 6 is also.
   */
  version: 2 | 3 | 4 | 6
  /** Bumped on every change; the highest generation found wins. */
  generation: number
  /** Unix ms of the last change; breaks ties between equal generations. */
  updatedAt: number
  entries: CatalogueEntry[]
}

/** The bytes or object are not a valid catalogue, or pieces do not form one. */
export const InvalidCatalogueError = defineError('InvalidCatalogueError', 'invalid-catalogue')
export type InvalidCatalogueError = InstanceType<typeof InvalidCatalogueError>

/** The version writers write: 3 added links and content hashes, 4 batched files without a manifest. */
export const CATALOGUE_VERSION = 4
/** The version byte of the pieces' AAD: the sealing, unchanged since version 2 of the document. */
export const CATALOGUE_PIECE_VERSION = 2
/** Versions readers accept. */
export const CATALOGUE_VERSIONS = [2, 3, 4, 6] as const
/** The versions after 3: a batched file needs no manifest, and a file may have a stat stamp. */
const BATCHED_WITHOUT_MANIFEST: ReadonlyArray<Catalogue['version']> = [4, 6]
/**
 * The version a catalogue of `entries` following one of `previous` is written at:
 * 6 once a file is packed, and never back from 6 (so that a chain's deltas keep one
 * version); otherwise CATALOGUE_VERSION, which every reader of version 4 reads.
 */
export function catalogueVersionFor (entries: readonly CatalogueEntry[], previous?: Catalogue['version']): Catalogue['version'] {
  return previous === 6 || entries.some(isPacked) ? 6 : CATALOGUE_VERSION
}

/** Whether the entry is a file whose one chunk is a slice of a pack. */
export function isPacked (entry: CatalogueEntry): boolean {
  return entry.chunks?.[0]?.pack !== undefined
}
/** Shares recorded per file; more is refused (share codes of one file are all the same anyway). */
export const MAX_SHARES_PER_FILE = 64
export const MAX_SHARE_LABEL_LENGTH = 200
/** Chunks of a batched file (chunks of CHUNK_SIZE): larger files keep commitments of their own. */
export const MAX_BATCHED_CHUNKS = 16

const CATALOGUE_KEYS = ['version', 'generation', 'updatedAt', 'peers', 'entries'] as const
const ENTRY_KEYS = ['fileId', 'name', 'kind', 'size', 'mode', 'mtimeMs'] as const
const OPTIONAL_ENTRY_KEYS = ['target', 'contentHash', 'statStamp', 'version', 'storedAt', 'group', 'manifest', 'batch', 'chunks', 'shares'] as const
/** Checks fields; its failures are InvalidCatalogueError. */
export const catalogueFields = new FieldReader((reason) => new InvalidCatalogueError(`invalid catalogue: ${reason}`))
const fields = catalogueFields
const utf8 = new TextEncoder()
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

export function encodeCatalogue (catalogue: Catalogue): Uint8Array {
  return encodeValidCatalogue(catalogue).bytes
}

/**
 * `catalogue` checked once and encoded: the valid fresh copy (what validateCatalogue
 * gives) and its bytes (what encodeCatalogue gives). An update of a catalogue of
 * thousands of entries did each apart, and each walk of the entries again: three
 * decodings and two encodings, most of an incremental re-put's time.
 */
export function encodeValidCatalogue (catalogue: Catalogue): { catalogue: Catalogue, bytes: Uint8Array } {
  const wire = toWire(catalogue)
  return { catalogue: fromWire(wire), bytes: utf8.encode(JSON.stringify(wire)) }
}

export function decodeCatalogue (bytes: Uint8Array): Catalogue {
  return fromWire(parseCatalogueDocument(bytes))
}

/** A catalogue document's parsed JSON, not yet checked (a whole catalogue or a delta); InvalidCatalogueError when it is not UTF-8 JSON. */
export function parseCatalogueDocument (bytes: Uint8Array): unknown {
  try {
    return JSON.parse(strictUtf8.decode(bytes))
  } catch (err) {
    throw new InvalidCatalogueError('invalid catalogue: not UTF-8 JSON', { cause: err })
  }
}

/** `catalogue` when valid, as a fresh copy; InvalidCatalogueError otherwise. */
export function validateCatalogue (catalogue: Catalogue): Catalogue {
  return fromWire(toWire(catalogue))
}

/**
 * The encoded object; checks the shape it walks and leaves every value rule to
 * fromWire, which every caller runs over it before it is used or sent.
 */
function toWire (c: Catalogue): Record<string, unknown> {
  fields.object(c, 'catalogue', CATALOGUE_KEYS.filter((k) => k !== 'peers'))
  const table = new PeerTable()
  const entries = fields.array(c.entries, 'entries').map((e, i) => entryToWire(e, `entries[${i}]`, table))
  return { version: c.version, generation: c.generation, updatedAt: c.updatedAt, peers: table.peers, entries }
}

/** One entry's encoded object, its peers indexed in `table`; checks only the shape it walks (entryFromWire has the rules). */
export function entryToWire (e: unknown, what: string, table: PeerTable): Record<string, unknown> {
  const entry = fields.object(e, what, ENTRY_KEYS, OPTIONAL_ENTRY_KEYS)
  const wire: Record<string, unknown> = {}
  for (const key of ENTRY_KEYS) wire[key] = entry[key]
  if (entry.target !== undefined) wire.target = entry.target
  if (entry.contentHash !== undefined) wire.contentHash = entry.contentHash
  if (entry.statStamp !== undefined) wire.statStamp = entry.statStamp
  if (entry.version !== undefined) wire.version = entry.version
  if (entry.storedAt !== undefined) wire.storedAt = entry.storedAt
  if (entry.group !== undefined) wire.group = entry.group
  if (entry.shares !== undefined) wire.shares = entry.shares
  const refsToWire = (refs: unknown, at: string, max: number): unknown[] => fields.array(refs, at, max).map((p, j) => {
    const piece = fields.object(p, `${at}[${j}]`, ['id', 'holders'], ['pack'])
    const holders = fields.array(piece.holders, `${at}[${j}].holders`, MAX_HOLDERS_PER_CHUNK)
    const tuple: unknown[] = [piece.id, holders.map((peer) => table.indexOf(peer as string))]
    if (piece.pack !== undefined) {
      const pack = fields.object(piece.pack, `${at}[${j}].pack`, ['id', 'offset', 'length'])
      tuple.push(pack.id, pack.offset, pack.length)
    }
    return tuple
  })
  if (entry.manifest !== undefined) wire.manifest = refsToWire(entry.manifest, `${what}.manifest`, MAX_MANIFEST_PIECES)
  if (entry.batch !== undefined) wire.batch = entry.batch
  if (entry.chunks !== undefined) wire.chunks = refsToWire(entry.chunks, `${what}.chunks`, MAX_BATCHED_CHUNKS)
  return wire
}

/** A whole catalogue read from its parsed JSON, every rule checked (what decodeCatalogue does after parsing). */
export function catalogueFromWire (value: unknown): Catalogue {
  return fromWire(value)
}

function fromWire (value: unknown): Catalogue {
  const w = fields.object(value, 'catalogue', CATALOGUE_KEYS)
  const version = fields.literal(w.version, 'version', CATALOGUE_VERSIONS)
  const generation = fields.integer(w.generation, 'generation')
  const updatedAt = fields.integer(w.updatedAt, 'updatedAt')
  const peers = new PeerTableReader(w.peers, fields, Number.MAX_SAFE_INTEGER)
  const entries = fields.array(w.entries, 'entries').map((value, i) => entryFromWire(value, `entries[${i}]`, version, peers))
  checkEntries(entries)
  peers.assertAllUsed()
  return { version, generation, updatedAt, entries }
}

/** A group read from its encoded object by the rules of `version` (an entry's, or one of a delta's groups). */
export function groupFromWire (value: unknown, what: string, version: Catalogue['version']): CatalogueGroup {
  const g = fields.object(value, what, ['id', 'root'], version === 2 ? [] : ['version', 'storedAt'])
  const group: CatalogueGroup = { id: fields.hex(g.id, `${what}.id`, 16), root: fields.string(g.root, `${what}.root`, 255) }
  if (g.version !== undefined) group.version = fields.integer(g.version, `${what}.version`, 1)
  if (g.storedAt !== undefined) group.storedAt = fields.integer(g.storedAt, `${what}.storedAt`)
  if (relativePathProblem(group.root) !== undefined || group.root.includes('/')) throw fields.fail(`${what}.root`, 'must be one valid name segment')
  return group
}

/** One entry read from its encoded object by the rules of `version`, alone; checkEntries has the rules between entries. */
export function entryFromWire (value: unknown, what: string, version: Catalogue['version'], peers: PeerTableReader): CatalogueEntry {
  const e = fields.object(value, what, ENTRY_KEYS, OPTIONAL_ENTRY_KEYS)
  const fileId = fields.hex(e.fileId, `${what}.fileId`, 16)
  const nameProblem = relativePathProblem(e.name)
  if (nameProblem !== undefined) throw fields.fail(`${what}.name`, nameProblem)
  const name = e.name as string
  const kind = fields.literal(e.kind, `${what}.kind`, version === 2 ? ['file', 'directory'] : ['file', 'directory', 'symlink'])
  const size = fields.integer(e.size, `${what}.size`, 0, kind === 'file' ? Number.MAX_SAFE_INTEGER : 0)
  const entry: CatalogueEntry = {
    fileId, name, kind, size, mode: fields.integer(e.mode, `${what}.mode`, 0, 0o7777), mtimeMs: fields.finite(e.mtimeMs, `${what}.mtimeMs`)
  }
  if (kind === 'symlink') {
    const problem = linkTargetProblem(e.target)
    if (problem !== undefined) throw fields.fail(`${what}.target`, problem)
    entry.target = e.target as string
  } else if (e.target !== undefined) {
    throw fields.fail(`${what}.target`, 'only a link has a target')
  }
  if (e.contentHash !== undefined) {
    if (kind !== 'file') throw fields.fail(`${what}.contentHash`, 'only a file has a content hash')
    if (version === 2) throw fields.fail(`${what}.contentHash`, 'is not part of version 2')
    entry.contentHash = fields.hex(e.contentHash, `${what}.contentHash`, 32)
  }
  if (e.statStamp !== undefined) {
    if (kind !== 'file' || !BATCHED_WITHOUT_MANIFEST.includes(version)) throw fields.fail(`${what}.statStamp`, 'only a file of version 4 or later has a stat stamp')
    entry.statStamp = fields.hex(e.statStamp, `${what}.statStamp`, 16)
  }
  if (e.group !== undefined) {
    const group = groupFromWire(e.group, `${what}.group`, version)
    if (name !== group.root && !name.startsWith(group.root + '/')) throw fields.fail(`${what}.name`, `must be inside its group's root "${group.root}"`)
    entry.group = group
    if (e.version !== undefined || e.storedAt !== undefined) throw fields.fail(what, 'an entry of a group has its version in the group')
  } else {
    if (e.version !== undefined) entry.version = fields.integer(e.version, `${what}.version`, 1)
    if (e.storedAt !== undefined) entry.storedAt = fields.integer(e.storedAt, `${what}.storedAt`)
    if (version === 2 && (e.version !== undefined || e.storedAt !== undefined)) throw fields.fail(what, 'versions are not part of version 2')
  }
  const refsOf = (value: unknown, at: string, max: number, packed = false): BatchedChunkRef[] => {
    const refs = fields.array(value, at, max).map((r, j) => {
      const tuple = fields.array(r, `${at}[${j}]`, packed ? 5 : 2)
      if (tuple.length !== 2 && !(packed && tuple.length === 5)) throw fields.fail(`${at}[${j}]`, packed ? 'must be [chunk id, holders] or [chunk id, holders, pack id, offset, length]' : 'must be [chunk id, holders]')
      const ref: BatchedChunkRef = { id: fields.chunkId(tuple[0], `${at}[${j}][0]`), holders: peers.resolveList(tuple[1], `${at}[${j}][1]`, MAX_HOLDERS_PER_CHUNK) }
      if (tuple.length === 5) {
        ref.pack = { id: fields.chunkId(tuple[2], `${at}[${j}][2]`), offset: fields.integer(tuple[3], `${at}[${j}][3]`), length: fields.integer(tuple[4], `${at}[${j}][4]`, 1) }
      }
      return ref
    })
    if (new Set(refs.map((p) => p.id)).size !== refs.length) throw fields.fail(at, 'must not repeat a chunk id')
    return refs
  }
  // since version 4: a batched file gets its manifest when it is first shared
  const manifestOptional = BATCHED_WITHOUT_MANIFEST.includes(version) && e.batch !== undefined
  if (kind === 'file' && (e.manifest !== undefined || !manifestOptional)) {
    if (e.manifest === undefined) throw fields.fail(`${what}.manifest`, 'a file outside a batch, or of a version before 4, has a manifest')
    entry.manifest = refsOf(e.manifest, `${what}.manifest`, MAX_MANIFEST_PIECES)
    if (entry.manifest.length === 0) throw fields.fail(`${what}.manifest`, 'a file has at least one manifest piece')
  } else if (kind !== 'file' && e.manifest !== undefined) {
    throw fields.fail(`${what}.manifest`, 'only a file has a manifest')
  }
  if (e.batch !== undefined || e.chunks !== undefined) {
    if (kind !== 'file' || version === 2) throw fields.fail(`${what}.batch`, 'only a file of version 3 or later is in a batch')
    if (e.batch === undefined || e.chunks === undefined) throw fields.fail(`${what}.batch`, 'a batched file has both its batch and its chunks')
    entry.batch = fields.hex(e.batch, `${what}.batch`, 16)
    const count = Math.ceil(size / CHUNK_SIZE)
    if (count > MAX_BATCHED_CHUNKS) throw fields.fail(`${what}.size`, `a batched file has at most ${MAX_BATCHED_CHUNKS} chunks`)
    entry.chunks = refsOf(e.chunks, `${what}.chunks`, count, version === 6)
    if (entry.chunks.length !== count) throw fields.fail(`${what}.chunks`, `a file of ${size} bytes has ${count} chunks, not ${entry.chunks.length}`)
    entry.chunks.forEach((chunk, j) => {
      if (chunk.pack === undefined) return
      // a packed file is one chunk: the whole file sealed once
      const problem = count === 1 ? packRefProblem(chunk.pack, chunk.id, size + OWNER_CHUNK_OVERHEAD) : 'only a file of one chunk is packed'
      if (problem !== undefined) throw fields.fail(`${what}.chunks[${j}]`, problem)
    })
  }
  // a directory's shares are shares of its whole tree (tree-listing.ts)
  if (e.shares !== undefined) {
    if (kind === 'symlink') throw fields.fail(`${what}.shares`, 'a link is not shared')
    entry.shares = sharesOf(e.shares, `${what}.shares`)
  }
  return entry
}

/**
 * The rules between entries: a file id repeats only as one unchanged file in two
 * versions, the entries of a group agree on it and have distinct names, and nothing
 * lies below a file or a link of its group. With `only`, the rules of those groups and
 * file ids alone, in one walk of cheap lookups: what a delta (catalogue-delta.ts) can
 * have broken, since the rest is as valid as it was in the parent.
 */
export function checkEntries (entries: readonly CatalogueEntry[], only?: { groups: ReadonlySet<string>, fileIds: ReadonlySet<string> }): void {
  const fileIds = new Map<string, CatalogueEntry>()
  const groups = new Map<string, { group: CatalogueGroup, names: Set<string>, members: CatalogueEntry[] }>()
  entries.forEach((entry, i) => {
    const group = entry.group
    if (group !== undefined && (only === undefined || only.groups.has(group.id))) {
      let seen = groups.get(group.id)
      if (seen === undefined) {
        seen = { group, names: new Set<string>(), members: [] }
        groups.set(group.id, seen)
      } else if (seen.group !== group) {
        if (seen.group.root !== group.root) throw fields.fail(`entries[${i}].group`, 'has another root than earlier entries of the group')
        if (seen.group.version !== group.version || seen.group.storedAt !== group.storedAt) throw fields.fail(`entries[${i}].group`, 'has another version or time than earlier entries of the group')
      }
      if (seen.names.has(entry.name)) throw fields.fail(`entries[${i}].name`, 'appears twice in one group')
      seen.names.add(entry.name)
      seen.members.push(entry)
    }
    if (only !== undefined && !only.fileIds.has(entry.fileId)) return
    const earlier = fileIds.get(entry.fileId)
    if (earlier !== undefined && !sameStoredFile(earlier, entry)) throw fields.fail(`entries[${i}].fileId`, 'appears in two entries that are not one unchanged file in two versions')
    fileIds.set(entry.fileId, entry)
  })
  for (const [id, { members }] of groups) {
    const below = belowALeaf(members)
    if (below !== undefined) throw fields.fail(`entries (group ${id})`, `"${below.leaf}" is a file or a link, so nothing lies below it`)
  }
}

/**
 * Two versions of a tree (or of a file) keep one unchanged file as one stored file:
 * entries that repeat a file id are the same file at the same name, with the same
 * content, metadata and manifest, in different versions of the same name.
 */
function sameStoredFile (a: CatalogueEntry, b: CatalogueEntry): boolean {
  if (a.kind !== 'file' || b.kind !== 'file' || a.name !== b.name) return false
  if (a.size !== b.size || a.mode !== b.mode || a.mtimeMs !== b.mtimeMs || a.contentHash !== b.contentHash) return false
  // a file kept into a new version shares its manifest with the old entry: only copies read apart are compared piece by piece
  const pieces = (e: CatalogueEntry): string => (e.manifest ?? []).map((p) => p.id).sort().join()
  if ((a.manifest !== b.manifest && pieces(a) !== pieces(b)) || a.batch !== b.batch) return false
  if (a.group !== undefined || b.group !== undefined) return a.group !== undefined && b.group !== undefined && a.group.root === b.group.root && a.group.id !== b.group.id
  return (a.version ?? 1) !== (b.version ?? 1)
}

function sharesOf (value: unknown, what: string): ShareRecord[] {
  return fields.array(value, what, MAX_SHARES_PER_FILE).map((v, i) => {
    const r = fields.object(v, `${what}[${i}]`, ['label', 'createdAt'], ['expiresAt'])
    const share: ShareRecord = { label: fields.string(r.label, `${what}[${i}].label`, MAX_SHARE_LABEL_LENGTH), createdAt: fields.integer(r.createdAt, `${what}[${i}].createdAt`) }
    if (r.expiresAt !== undefined) share.expiresAt = fields.integer(r.expiresAt, `${what}[${i}].expiresAt`)
    return share
  })
}
