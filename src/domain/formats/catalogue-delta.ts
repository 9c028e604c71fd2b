import { catalogueFields, catalogueFromWire, catalogueVersionFor, checkEntries, entryFromWire, entryToWire, groupFromWire, parseCatalogueDocument, type Catalogue, type CatalogueEntry, type CatalogueGroup } from './catalogue-format.ts'
import { PeerTable, PeerTableReader } from './peer-table.ts'

/**
 * A catalogue generation written as the change from the one before it (a *delta*),
 * instead of the whole list again: a re-put of a tree of 50,000 files that changed 20
 * would otherwise encode, sign, seal and store every entry of every version on every
 * command. Like restic's index files over a snapshot and Tahoe's mutable versions, a
 * chain of deltas over a full catalogue (the *base*) is folded back into a new base now
 * and then (catalogue-chain.ts). protocol-spec/manifests-and-catalogue.md, "Catalogue
 * deltas", is normative.
 *
 * The operations rebuild the next list from the parent's, in order, with a cursor over
 * the parent's entries: `n` (a positive integer) keeps the next n, `-n` drops the next
 * n, `[i, n]` appends the parent's entries i..i+n-1 again and `[i, n, g]` appends them
 * moved into group g of the delta's `groups` (a new version of a tree keeping the files
 * that did not change; files only), and an object appends a new entry. The cursor must end at the
 * parent's end: every parent entry is kept or dropped, none is forgotten.
 */

/**
 * The document versions of a delta: 5 changes a version 4 catalogue into a version 4
 * one; 6 changes a version 4 or 6 catalogue into a version 6 one, its entries read by
 * version 6's rules (packed files, pack.ts).
 */
export const CATALOGUE_DELTA_VERSION = 5
export const PACKED_CATALOGUE_DELTA_VERSION = 6
/** The catalogue versions a chain of deltas grows from. */
export const DELTA_PARENT_VERSIONS: ReadonlyArray<Catalogue['version']> = [4, 6]

/** The delta version that turns a catalogue of `parentVersion` into one of `entries` (catalogueVersionFor). */
export function deltaVersionFor (entries: readonly CatalogueEntry[], parentVersion: Catalogue['version']): CatalogueDelta['version'] {
  return catalogueVersionFor(entries, parentVersion) === 6 ? PACKED_CATALOGUE_DELTA_VERSION : CATALOGUE_DELTA_VERSION
}

/** The catalogue version a delta's entries are read by and its result has. */
function catalogueVersionOf (delta: Pick<CatalogueDelta, 'version'>): 4 | 6 {
  return delta.version === PACKED_CATALOGUE_DELTA_VERSION ? 6 : 4
}
/** Operations in one delta: more than any list of entries a delta may rebuild needs. */
export const MAX_DELTA_OPS = 1 << 20

/** One sealing of one generation: what a delta names as its parent and base. */
export interface GenerationRef {
  generation: number
  /** The edition id of its sealing (sealed-pieces.ts), 32 lowercase hex digits. */
  edition: string
}

export type DeltaOp =
  | { keep: number }
  | { drop: number }
  | { from: number, count: number, group?: number }
  | { add: CatalogueEntry }

export interface CatalogueDelta {
  version: typeof CATALOGUE_DELTA_VERSION | typeof PACKED_CATALOGUE_DELTA_VERSION
  kind: 'delta'
  generation: number
  updatedAt: number
  /** The base the chain starts from. */
  base: GenerationRef
  /** The generation this one changes: generation - 1. */
  parent: GenerationRef
  /** Groups the `[i, n, g]` operations move entries into. */
  groups: CatalogueGroup[]
  ops: DeltaOp[]
}

const DELTA_KEYS = ['version', 'kind', 'generation', 'updatedAt', 'base', 'parent', 'groups', 'peers', 'ops'] as const
const fields = catalogueFields
const utf8 = new TextEncoder()

/**
 * The operations that turn `parent` into `next`. Entries the change left as they were
 * (the same objects, as a filter or map that returns them keeps them) are kept by
 * position; an entry equal to a parent's but for its group (a file unchanged in the new
 * version of its tree) is a move; anything else is written out.
 */
export function diffEntries (parent: readonly CatalogueEntry[], next: readonly CatalogueEntry[]): { groups: CatalogueGroup[], ops: DeltaOp[] } {
  // a put appends to the parent's entries, which stay first as they were: they are kept
  // in one operation, and only the entries after them are looked up. A re-put of a tree
  // makes every version's entries the parent of the next, so walking all of them was
  // most of what the change cost by the tenth version
  const prefix = keptRun(parent, next)
  const position = positionsIn(parent, next, prefix)
  const byRoot = new Map<string, Map<string, number>>()
  const groups: CatalogueGroup[] = []
  const groupIndex = new Map<string, number>()
  const ops: DeltaOp[] = prefix === 0 ? [] : [{ keep: prefix }]
  let cursor = prefix
  const push = (op: DeltaOp): void => {
    const last = ops[ops.length - 1]
    if (last !== undefined && 'keep' in last && 'keep' in op) last.keep += op.keep
    else if (last !== undefined && 'drop' in last && 'drop' in op) last.drop += op.drop
    else if (last !== undefined && 'from' in last && 'from' in op && last.group === op.group && last.from + last.count === op.from) last.count += op.count
    else ops.push(op)
  }
  for (let i = prefix; i < next.length; i++) {
    const entry = next[i]!
    const at = position.get(entry)
    if (at !== undefined && at >= cursor) {
      if (at > cursor) push({ drop: at - cursor })
      push({ keep: 1 })
      cursor = at + 1
      continue
    }
    if (at !== undefined) {
      push({ from: at, count: 1 })
      continue
    }
    if (entry.group !== undefined) {
      let index = byRoot.get(entry.group.root)
      if (index === undefined) {
        index = newestVersionOf(parent, entry.group.root)
        byRoot.set(entry.group.root, index)
      }
      const moved = index.get(entry.fileId)
      if (moved !== undefined && sameButGroup(parent[moved]!, entry)) {
        let g = groupIndex.get(entry.group.id)
        if (g === undefined) {
          g = groups.length
          groups.push(entry.group)
          groupIndex.set(entry.group.id, g)
        }
        push({ from: moved, count: 1, group: g })
        continue
      }
    }
    push({ add: entry })
  }
  if (cursor < parent.length) push({ drop: parent.length - cursor })
  return { groups, ops }
}

/** How many of `next`'s first entries are `parent`'s first, as they were (the same objects). */
export function keptRun (parent: readonly CatalogueEntry[], next: readonly CatalogueEntry[]): number {
  let n = 0
  while (n < parent.length && n < next.length && next[n] === parent[n]) n++
  return n
}

/**
 * Where each of `next`'s entries from `from` on is among `parent`'s (the last place, for
 * an object there twice): by the parent's objects that are among them, so a long parent
 * with a short tail to look up costs one set of the tail and a walk of lookups, not a
 * map of every parent entry.
 */
function positionsIn (parent: readonly CatalogueEntry[], next: readonly CatalogueEntry[], from: number): Map<CatalogueEntry, number> {
  const position = new Map<CatalogueEntry, number>()
  if (next.length - from >= parent.length) {
    parent.forEach((e, i) => position.set(e, i))
    return position
  }
  const wanted = new Set<CatalogueEntry>()
  for (let i = from; i < next.length; i++) wanted.add(next[i]!)
  parent.forEach((e, i) => { if (wanted.has(e)) position.set(e, i) })
  return position
}

/**
 * File id -> position of the entries of the newest version of the tree `root` (the
 * highest group version, the last put among equals): what a re-put keeps unchanged
 * comes from there. A file kept from an older version is written out instead, which is
 * larger but as valid.
 */
function newestVersionOf (entries: readonly CatalogueEntry[], root: string): Map<string, number> {
  let newest: CatalogueGroup | undefined
  for (const e of entries) {
    const g = e.group
    if (g !== undefined && g.root === root && (newest === undefined || (g.version ?? 1) >= (newest.version ?? 1))) newest = g
  }
  const index = new Map<string, number>()
  if (newest === undefined) return index
  entries.forEach((e, i) => {
    if (e.group?.id === newest.id) index.set(e.fileId, i)
  })
  return index
}

/** Whether `b` is `a` in another group: every other field equal, as the move operation rebuilds it. */
function sameButGroup (a: CatalogueEntry, b: CatalogueEntry): boolean {
  if (a.kind !== 'file' || a.group === undefined || b.group === undefined || a.group.root !== b.group.root) return false
  // a loop, not key arrays and filters: a re-put of 2,000 files compares each of them
  let fields = 0
  for (const k in a) {
    const x = (a as any)[k]
    if (k === 'group' || x === undefined) continue
    fields++
    const y = (b as any)[k]
    if (x !== y && (typeof x !== 'object' || JSON.stringify(x) !== JSON.stringify(y))) return false
  }
  for (const k in b) if (k !== 'group' && (b as any)[k] !== undefined) fields--
  return fields === 0
}

/** The delta's document bytes (UTF-8 JSON); the shape is checked, the rules are decodeDelta's. */
export function encodeDelta (delta: CatalogueDelta): Uint8Array {
  const table = new PeerTable()
  const ops = delta.ops.map((op, i): unknown => {
    if ('keep' in op) return op.keep
    if ('drop' in op) return -op.drop
    if ('from' in op) return op.group === undefined ? [op.from, op.count] : [op.from, op.count, op.group]
    return entryToWire(op.add, `ops[${i}]`, table)
  })
  return utf8.encode(JSON.stringify({
    version: delta.version,
    kind: 'delta',
    generation: delta.generation,
    updatedAt: delta.updatedAt,
    base: [delta.base.generation, delta.base.edition],
    parent: [delta.parent.generation, delta.parent.edition],
    groups: delta.groups,
    peers: table.peers,
    ops
  }))
}

/** A catalogue document: a whole catalogue (a base) or a delta; InvalidCatalogueError when it is neither. */
export function decodeGenerationDocument (bytes: Uint8Array): { kind: 'base', catalogue: Catalogue } | { kind: 'delta', delta: CatalogueDelta } {
  const wire = parseCatalogueDocument(bytes)
  if (typeof wire === 'object' && wire !== null && 'kind' in wire) return { kind: 'delta', delta: deltaFromWire(wire) }
  return { kind: 'base', catalogue: catalogueFromWire(wire) }
}

function deltaFromWire (value: unknown): CatalogueDelta {
  const w = fields.object(value, 'delta', DELTA_KEYS)
  const version = fields.literal(w.version, 'version', [CATALOGUE_DELTA_VERSION, PACKED_CATALOGUE_DELTA_VERSION])
  const rules = catalogueVersionOf({ version })
  fields.literal(w.kind, 'kind', ['delta'])
  const generation = fields.integer(w.generation, 'generation', 1)
  const updatedAt = fields.integer(w.updatedAt, 'updatedAt')
  const base = refOf(w.base, 'base')
  const parent = refOf(w.parent, 'parent')
  if (parent.generation !== generation - 1) throw fields.fail('parent', `a delta of generation ${generation} changes generation ${generation - 1}, not ${parent.generation}`)
  if (base.generation > parent.generation) throw fields.fail('base', 'is newer than the parent')
  if (base.generation === parent.generation && base.edition !== parent.edition) throw fields.fail('base', 'has the parent\'s generation but another edition')
  const groups = fields.array(w.groups, 'groups').map((v, i) => groupFromWire(v, `groups[${i}]`, rules))
  const peers = new PeerTableReader(w.peers, fields, Number.MAX_SAFE_INTEGER)
  const used = new Set<number>()
  const ops = fields.array(w.ops, 'ops', MAX_DELTA_OPS).map((v, i): DeltaOp => {
    if (typeof v === 'number') {
      const n = fields.integer(Math.abs(v), `ops[${i}]`, 1)
      return v > 0 ? { keep: n } : { drop: n }
    }
    if (Array.isArray(v)) {
      if (v.length !== 2 && v.length !== 3) throw fields.fail(`ops[${i}]`, 'must be [from, count] or [from, count, group]')
      const op: DeltaOp = { from: fields.integer(v[0], `ops[${i}][0]`), count: fields.integer(v[1], `ops[${i}][1]`, 1) }
      if (v.length === 3) {
        op.group = fields.integer(v[2], `ops[${i}][2]`, 0, groups.length - 1)
        used.add(op.group)
      }
      return op
    }
    return { add: entryFromWire(v, `ops[${i}]`, rules, peers) }
  })
  if (used.size !== groups.length) throw fields.fail('groups', 'names a group no operation moves entries into')
  peers.assertAllUsed()
  return { version, kind: 'delta', generation, updatedAt, base, parent, groups, ops }
}

function refOf (value: unknown, what: string): GenerationRef {
  const tuple = fields.array(value, what, 2)
  if (tuple.length !== 2) throw fields.fail(what, 'must be [generation, edition]')
  return { generation: fields.integer(tuple[0], `${what}[0]`), edition: fields.hex(tuple[1], `${what}[1]`, 16) }
}

/**
 * The generation `delta` makes of `parent` (a version 4 catalogue, or 6 for a delta of version 6), checked as a whole
 * catalogue is: InvalidCatalogueError when the operations do not fit the parent or the
 * result breaks a rule between entries. Entries the delta keeps or moves are the
 * parent's objects (or copies of them); they are never changed in place.
 */
export function applyDelta (parent: Catalogue, delta: CatalogueDelta): Catalogue {
  const version = catalogueVersionOf(delta)
  // a catalogue with packed files is never changed into one of a version that has none
  if (!DELTA_PARENT_VERSIONS.includes(parent.version) || parent.version > version) {
    throw fields.fail('parent', `a delta of version ${delta.version} does not change a version ${parent.version} catalogue`)
  }
  if (delta.generation !== parent.generation + 1) throw fields.fail('generation', `a delta of generation ${delta.generation} does not follow generation ${parent.generation}`)
  if (delta.updatedAt < parent.updatedAt) throw fields.fail('updatedAt', 'goes back in time')
  const from = parent.entries
  const entries: CatalogueEntry[] = []
  // what the operations can have made invalid; kept entries are as valid as in the
  // parent. A moved entry is its old self in another group of the same root, so it
  // repeats its file id validly exactly when that group's rules hold
  const groups = new Set<string>()
  const fileIds = new Set<string>()
  const touch = (e: CatalogueEntry, withFileId: boolean): void => {
    if (e.group !== undefined) groups.add(e.group.id)
    if (withFileId) fileIds.add(e.fileId)
  }
  let cursor = 0
  delta.ops.forEach((op, i) => {
    if ('keep' in op || 'drop' in op) {
      const n = 'keep' in op ? op.keep : op.drop
      if (cursor + n > from.length) throw fields.fail(`ops[${i}]`, `runs past the parent's ${from.length} entries`)
      if ('keep' in op) for (let j = cursor; j < cursor + n; j++) entries.push(from[j]!)
      else for (let j = cursor; j < cursor + n; j++) fileIds.add(from[j]!.fileId)
      cursor += n
    } else if ('from' in op) {
      if (op.from + op.count > from.length) throw fields.fail(`ops[${i}]`, `names entries past the parent's ${from.length}`)
      for (let j = op.from; j < op.from + op.count; j++) {
        const old = from[j]!
        if (op.group === undefined) {
          touch(old, true)
          entries.push(old)
          continue
        }
        const group = delta.groups[op.group]!
        if (old.group === undefined || old.group.root !== group.root) throw fields.fail(`ops[${i}]`, 'moves an entry into a group of another root, or one outside any group')
        // only a file may repeat its id in another version; a directory or a link is new in each
        if (old.kind !== 'file') throw fields.fail(`ops[${i}]`, 'moves a directory or a link, which never repeats its id')
        groups.add(group.id)
        entries.push({ ...old, group })
      }
    } else {
      touch(op.add, true)
      entries.push(op.add)
    }
  })
  if (cursor !== from.length) throw fields.fail('ops', `keep or drop ${cursor} of the parent's ${from.length} entries, not all`)
  checkEntries(entries, { groups, fileIds })
  return { version, generation: delta.generation, updatedAt: delta.updatedAt, entries }
}
