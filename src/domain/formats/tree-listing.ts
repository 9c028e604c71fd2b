import { defineError } from '../../errors.ts'
import { READ_ROOT_BYTES } from '../crypto/key-derivation.ts'
import { WRITER_KEY_BYTES, WRITER_PIN_BYTES, checkReadCapability, pinMatches, type ReadCapability, type WriteKey } from '../capabilities/file-capabilities.ts'
import { openPinnedDocument } from '../capabilities/pinned-document.ts'
import { signBody } from '../capabilities/signed-body.ts'
import { sharedPieceCodec } from './manifest.ts'
import { belowALeaf, linkTargetProblem, relativePathProblem } from './relative-path.ts'
import { FieldReader } from './strict-fields.ts'

/**
 * A shared directory tree: what a directory share code opens. The owner lists every
 * directory and file of the tree with, per file, that file's read capability, signs
 * the listing with the tree's own write key (a tree has capabilities like a file,
 * derived from the directory entry's id) and stores it, sealed, under the tree's
 * manifest commitment. A receiver opens it with the tree's read capability and then
 * fetches each file with the capability the listing gives: read-only all the way down,
 * since a listing holds read capabilities only. protocol-spec/manifests-and-catalogue.md
 * ("Directory shares") is normative.
 */

export interface TreeFile {
  /** Relative path, the tree's root segment first. */
  name: string
  kind: 'file'
  size: number
  mode: number
  mtimeMs: number
  read: ReadCapability
}

export interface TreeDirectory {
  name: string
  kind: 'directory'
  mode: number
  mtimeMs: number
}

/** A symbolic link of the tree (version 3): restored as a link, never followed. */
export interface TreeLink {
  name: string
  kind: 'symlink'
  mode: number
  mtimeMs: number
  /** Verbatim: absolute, dangling or climbing targets are restored as they are. */
  target: string
}

export type TreeEntry = TreeFile | TreeDirectory | TreeLink

export interface TreeListing {
  /** Writers write 3; readers accept 2 (no links) too. */
  version: 2 | 3
  kind: 'tree'
  /** 32 lowercase hex digits: the id the tree's capabilities derive from. */
  treeId: string
  /** Higher is newer; the writer uses the time of sharing. */
  revision: number
  /** The tree's root directory name: one segment. */
  root: string
  entries: TreeEntry[]
  /** 64 lowercase hex digits: the Ed25519 key that signs the tree's listings. */
  writer: string
}

/** The bytes or object are not a valid tree listing. */
export const InvalidTreeListingError = defineError('InvalidTreeListingError', 'invalid-tree-listing')
/** The listing is not signed by the key the capability pins. */
export const TreeListingSignatureError = defineError('TreeListingSignatureError', 'tree-listing-signature')

export const TREE_SIGNATURE_LABEL = 'quloud/v2/tree'
/** The version writers write: 3 added links. */
export const TREE_LISTING_VERSION = 3
/** Entries one listing may hold: a large photo library, well inside 512 pieces. */
export const MAX_TREE_ENTRIES = 1_000_000

const KEYS = ['version', 'kind', 'treeId', 'revision', 'root', 'entries', 'writer'] as const
const fields = new FieldReader((reason) => new InvalidTreeListingError(`invalid tree listing: ${reason}`))
const utf8 = new TextEncoder()
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')

export function encodeTreeListing (listing: TreeListing): Uint8Array {
  const wire = {
    version: listing.version,
    kind: listing.kind,
    treeId: listing.treeId,
    revision: listing.revision,
    root: listing.root,
    entries: listing.entries.map((e) => e.kind === 'file'
      ? [e.name, 'file', e.size, e.mode, e.mtimeMs, hex(e.read.readRoot), hex(e.read.writerPin)]
      : e.kind === 'symlink' ? [e.name, 'symlink', 0, e.mode, e.mtimeMs, e.target] : [e.name, 'directory', 0, e.mode, e.mtimeMs]),
    writer: listing.writer
  }
  const bytes = utf8.encode(JSON.stringify(wire))
  decodeTreeListing(bytes)
  return bytes
}

export function decodeTreeListing (bytes: Uint8Array): TreeListing {
  let value: unknown
  try {
    value = JSON.parse(strictUtf8.decode(bytes))
  } catch (err) {
    throw new InvalidTreeListingError('invalid tree listing: not UTF-8 JSON', { cause: err })
  }
  const w = fields.object(value, 'tree', KEYS)
  const version = fields.literal(w.version, 'version', [2, 3])
  const kind = fields.literal(w.kind, 'kind', ['tree'])
  const treeId = fields.hex(w.treeId, 'treeId', 16)
  const revision = fields.integer(w.revision, 'revision')
  const root = fields.string(w.root, 'root', 255)
  if (relativePathProblem(root) !== undefined || root.includes('/')) throw fields.fail('root', 'must be one valid name segment')
  const names = new Set<string>()
  const entries = fields.array(w.entries, 'entries', MAX_TREE_ENTRIES).map((value, i): TreeEntry => {
    const what = `entries[${i}]`
    const tuple = fields.array(value, what, 7)
    const name = fields.string(tuple[0], `${what}[0]`)
    const problem = relativePathProblem(name)
    if (problem !== undefined) throw fields.fail(`${what}[0]`, problem)
    if (name !== root && !name.startsWith(root + '/')) throw fields.fail(`${what}[0]`, `must be inside the tree's root "${root}"`)
    if (names.has(name)) throw fields.fail(`${what}[0]`, 'appears twice')
    names.add(name)
    const entryKind = fields.literal(tuple[1], `${what}[1]`, version === 2 ? ['file', 'directory'] : ['file', 'directory', 'symlink'])
    // the root is where receive writes: as a file it would be written beside the output directory
    if (entryKind !== 'directory' && name === root) throw fields.fail(`${what}[0]`, 'the tree\'s root is a directory')
    const mode = fields.integer(tuple[3], `${what}[3]`, 0, 0o7777)
    const mtimeMs = fields.finite(tuple[4], `${what}[4]`)
    if (entryKind === 'directory') {
      if (tuple.length !== 5 || tuple[2] !== 0) throw fields.fail(what, 'a directory is [name, "directory", 0, mode, mtimeMs]')
      return { name, kind: 'directory', mode, mtimeMs }
    }
    if (entryKind === 'symlink') {
      if (tuple.length !== 6 || tuple[2] !== 0) throw fields.fail(what, 'a link is [name, "symlink", 0, mode, mtimeMs, target]')
      const problem = linkTargetProblem(tuple[5])
      if (problem !== undefined) throw fields.fail(`${what}[5]`, problem)
      return { name, kind: 'symlink', mode, mtimeMs, target: tuple[5] as string }
    }
    if (tuple.length !== 7) throw fields.fail(what, 'a file is [name, "file", size, mode, mtimeMs, readRoot, writerPin]')
    return {
      name,
      kind: 'file',
      size: fields.integer(tuple[2], `${what}[2]`),
      mode,
      mtimeMs,
      read: {
        readRoot: Buffer.from(fields.hex(tuple[5], `${what}[5]`, READ_ROOT_BYTES), 'hex'),
        writerPin: Buffer.from(fields.hex(tuple[6], `${what}[6]`, WRITER_PIN_BYTES), 'hex')
      }
    }
  })
  // a path both a file (or link) and a parent has no restoring
  const below = belowALeaf(entries)
  if (below !== undefined) throw fields.fail(`entries[${below.index}][0]`, `is inside "${below.leaf}", which is a ${entries.find((e) => e.name === below.leaf)!.kind === 'file' ? 'file' : 'link'}`)
  const writer = fields.hex(w.writer, 'writer', WRITER_KEY_BYTES)
  return { version, kind, treeId, revision, root, entries, writer }
}

/** The listing signed with the tree's write key and sealed under its read capability. */
export function sealTreeListing (listing: TreeListing, read: ReadCapability, write: WriteKey, options?: { random?: (n: number) => Uint8Array }): Uint8Array[] {
  if (listing.writer !== hex(write.publicKey) || !pinMatches(checkReadCapability(read).writerPin, write.publicKey)) {
    throw new InvalidTreeListingError('invalid tree listing: the writer is not the key the capability pins')
  }
  return sharedPieceCodec(read, write).seal(signBody(TREE_SIGNATURE_LABEL, write, encodeTreeListing(listing)), listing.revision, options?.random)
}

/**
 * The newest listing among `pieces` signed by the key `read` pins; undefined when none
 * is there (the pieces may be a file's manifests instead, or forgeries).
 */
export function newestTreeListing (pieces: Uint8Array[], read: ReadCapability): TreeListing | undefined {
  let best: { listing: TreeListing, edition: string } | undefined
  for (const edition of sharedPieceCodec(read).openEditions(pieces)) {
    let listing: TreeListing
    try {
      listing = openPinnedDocument(edition.body, read, TREE_SIGNATURE_LABEL, decodeTreeListing, (reason) => new TreeListingSignatureError(`the tree listing is refused: ${reason}`))
    } catch {
      continue
    }
    if (listing.revision !== edition.generation) continue
    // equal revisions: the smallest edition, as for manifests, so every reader picks the same
    if (best === undefined || listing.revision > best.listing.revision ||
        (listing.revision === best.listing.revision && edition.edition < best.edition)) best = { listing, edition: edition.edition }
  }
  return best?.listing
}
