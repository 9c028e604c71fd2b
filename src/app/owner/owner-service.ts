import { chmod, mkdir, mkdtemp, rm, stat, utimes } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { MAX_SHARE_LABEL_LENGTH, MAX_SHARES_PER_FILE, type CatalogueEntry, type ShareRecord } from '../../domain/formats/catalogue.ts'
import { fileIdToString, newFileId, parseFileId } from '../../domain/formats/file-id.ts'
import { ownerFileCapabilities, type ReadCapability } from '../../domain/capabilities/file-capabilities.ts'
import { manifestSecret } from '../../domain/crypto/key-derivation.ts'
import { newestManifest, sharedPieceCodec, type Manifest } from '../../domain/formats/manifest.ts'
import { decodeShareCode, encodeShareCode, InvalidShareCodeError } from '../../domain/formats/share-code.ts'
import { looksLikeShortCode } from '../../domain/formats/short-code.ts'
import { newestTreeListing } from '../../domain/formats/tree-listing.ts'
import { defineError, InvalidInputError, NotFoundError } from '../../errors.ts'
import type { AbortOptions } from '../../ports/abort-options.ts'
import type { CatalogueService } from './catalogue-service.ts'
import { gatherPieces } from './federation-pieces.ts'
import { fetchFile, FileUnavailableError } from './fetch-file.ts'
import { deleteTreeListings, receiveTree, storeTreeListing, treeRootOf } from './tree-share.ts'
import { FILES_IN_FLIGHT, inParallel } from './in-parallel.ts'
import { PeerSessions } from './peer-sessions.ts'
import { putPaths, type PutOutcome, type TransferEvent } from './put-command.ts'
import { putFile, type OwnerDeps } from './put-file.ts'
import type { SchemeChoice } from '../../domain/formats/stripe-layout.ts'
import { removeFile, type RemovalReport } from './remove-file.ts'

const utf8 = new TextEncoder()
const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

/** A name matches several catalogue entries: the caller must use an id. */
export const AmbiguousNameError = defineError('AmbiguousNameError', 'ambiguous-name')
/** `get`/`receive` would overwrite an existing file. */
export const OutputExistsError = defineError('OutputExistsError', 'output-exists')
/** A file has as many share records as the catalogue keeps. */
export const TooManySharesError = defineError('TooManySharesError', 'too-many-shares')

export interface ShareRequest {
  /** Who it is for, for the owner's own list. */
  label?: string
  /** Unix ms after which the share is revoked (the file rotated). */
  expiresAt?: number
  /** Also offer the code under a short one-time code valid this long (ms) while this node is online. */
  shortCodeTtlMs?: number
}

/**
 * Short one-time codes (app/handoff): a capability offered under a code a person reads
 * out in seconds, and redeemed from the sharer's node over SPAKE2.
 */
export interface ShortCodes {
  offer (capability: Uint8Array, options?: { ttlMs?: number }): { code: string, expiresAt: number }
  redeem (code: string, options?: AbortOptions): Promise<Uint8Array>
}

export interface OwnerServiceOptions {
  now?: () => number
  shortCodes?: ShortCodes
  /** How a put that names no scheme stores its files (the node's `erasure` setting); default auto. */
  scheme?: SchemeChoice
}

/** Short codes are unavailable on this node. */
export const ShortCodesUnavailableError = defineError('ShortCodesUnavailableError', 'short-codes-unavailable')

export interface GivenShare {
  code: string
  name: string
  size: number
  fileId: string
  /** Shares of this file given before this one: they are the same code. */
  earlier: number
  expiresAt?: number
  /** The one-time short code, when asked for, and when it stops working. */
  shortCode?: { code: string, expiresAt: number }
}

/** A file with the shares given of it, for `quloud shares`. */
export interface SharedEntry {
  fileId: string
  name: string
  shares: ShareRecord[]
}

export interface Revocation {
  name: string
  /** The id the file had; its chunks and manifest are deleted where their holders answered. */
  previousFileId: string
  /** Its new id, under fresh keys: earlier share codes cannot open or even find it. */
  fileId: string
  /** Shares that stopped working. */
  revoked: number
  /** Holders of the old copy that did not answer: it stays there, readable with the old code, until a later `rm` reaches them. */
  unreachable: string[]
}

export type { PutOutcome, TransferEvent }

/** The owner's workflows, as the control API offers them. */
export class OwnerService {
  private readonly deps: OwnerDeps
  private readonly catalogue: CatalogueService
  private readonly now: (() => number) | undefined
  private readonly shortCodes: ShortCodes | undefined
  private readonly scheme: SchemeChoice

  constructor (deps: OwnerDeps, catalogue: CatalogueService, options: OwnerServiceOptions = {}) {
    this.deps = deps
    this.catalogue = catalogue
    this.now = options.now
    this.shortCodes = options.shortCodes
    this.scheme = options.scheme ?? { kind: 'auto' }
  }

  /** Stores files and trees; the catalogue changes once for the whole command (putPaths). */
  async put (paths: string[], scheme: number | SchemeChoice | undefined, progress: (p: TransferEvent) => void, options?: AbortOptions): Promise<PutOutcome[]> {
    const choice = typeof scheme === 'number' ? { kind: 'replicas' as const, replicas: scheme } : scheme ?? this.scheme
    return putPaths(this.deps, this.catalogue, { paths, scheme: choice, progress }, options)
  }

  async list (options?: AbortOptions): Promise<CatalogueEntry[]> {
    return (await this.catalogue.load(options)).entries
  }

  /** Restores a file or a directory tree; `output` defaults to `cwd/<name>`. */
  async get (ref: string, target: { output?: string, cwd: string }, progress: (p: TransferEvent) => void, options?: AbortOptions): Promise<{ written: string[] }> {
    const entries = this.resolve(await this.list(options), ref)
    const rootName = entries[0]!.group?.root ?? entries[0]!.name
    const base = target.output ?? join(target.cwd, basename(rootName))
    const single = entries.length === 1 && entries[0]!.group === undefined
    const destination = (entry: CatalogueEntry): string => single
      ? base
      : join(base, entry.name.slice(rootName.length))
    const files = entries.filter((e) => e.kind === 'file')
    for (const entry of files) await refuseExisting(destination(entry))
    const total = files.reduce((n, e) => n + e.size, 0)
    let done = 0
    const written: string[] = []
    for (const entry of entries.filter((e) => e.kind === 'directory')) await mkdir(destination(entry), { recursive: true })
    const sessions = new PeerSessions(this.deps.federation, options)
    try {
      written.push(...await inParallel(files, FILES_IN_FLIGHT, async (entry) => {
        const fileId = parseFileId(entry.fileId)
        await fetchFile(this.deps.federation, this.deps.log, {
          fileId,
          read: ownerFileCapabilities(this.deps.master, fileId).read,
          ...(entry.manifest === undefined ? {} : { manifest: entry.manifest }),
          output: destination(entry),
          onProgress: (bytes) => { done += bytes; progress({ name: entry.name, done, total }) },
          codec: this.deps.codec
        }, { ...options, sessions })
        return destination(entry)
      }))
    } finally {
      await sessions.close()
    }
    // directory modes and times last: writing the files inside changed them; deepest first
    for (const entry of entries.filter((e) => e.kind === 'directory').sort((a, b) => b.name.length - a.name.length)) {
      await chmod(destination(entry), entry.mode & 0o7777)
      await utimes(destination(entry), new Date(), new Date(entry.mtimeMs))
    }
    return { written }
  }

  async remove (ref: string, options?: AbortOptions): Promise<RemovalReport[]> {
    const entries = this.resolve(await this.list(options), ref)
    const sessions = new PeerSessions(this.deps.federation, options)
    try {
      const reports = await inParallel(entries.filter((e) => e.kind === 'file'), FILES_IN_FLIGHT, async (entry) => removeFile(this.deps, entry, { ...options, sessions }))
      // a shared tree's listing names everything in it: it goes with the tree
      const tree = treeRootOf(entries)
      if (tree !== undefined && (tree.shares?.length ?? 0) > 0) await deleteTreeListings(this.deps, sessions, tree)
      const gone = new Set(entries.map((e) => e.fileId))
      await this.catalogue.update((current) => current.filter((e) => !gone.has(e.fileId)), { ...options, sessions })
      return reports
    } finally {
      await sessions.close()
    }
  }

  /**
   * A share code for one file: its read capability, nothing more. The share is recorded
   * in the catalogue (label, time, expiry) so `shares` lists it and the daemon revokes
   * it when it expires. Every share of one file is the same code.
   */
  async share (ref: string, request: ShareRequest = {}, options?: AbortOptions): Promise<GivenShare> {
    const entries = this.resolve(await this.list(options), ref)
    const tree = treeRootOf(entries)
    const entry = tree ?? this.oneFile(entries, ref)
    const label = request.label ?? ''
    if (typeof label !== 'string' || label.length > MAX_SHARE_LABEL_LENGTH) throw new InvalidInputError(`a share label is at most ${MAX_SHARE_LABEL_LENGTH} characters`)
    const now = (this.now ?? Date.now)()
    if (request.expiresAt !== undefined && (!Number.isSafeInteger(request.expiresAt) || request.expiresAt <= now)) {
      throw new InvalidInputError('a share expires in the future')
    }
    if (request.shortCodeTtlMs !== undefined && this.shortCodes === undefined) throw new ShortCodesUnavailableError('this node does not offer short codes')
    const earlier = entry.shares?.length ?? 0
    if (earlier >= MAX_SHARES_PER_FILE) throw new TooManySharesError(`${entry.name} has ${earlier} shares recorded; revoke them with \`quloud unshare\` first`)
    const record: ShareRecord = { label, createdAt: now, ...(request.expiresAt === undefined ? {} : { expiresAt: request.expiresAt }) }
    if (tree !== undefined && earlier === 0) {
      // the listing is stored once per tree id: every share of the tree is the same code
      await PeerSessions.using(this.deps.federation, options, async (sessions) => storeTreeListing(this.deps, sessions, tree, entries, now))
    }
    await this.catalogue.update((current) => current.map((e) => e.fileId === entry.fileId ? { ...e, shares: [...(e.shares ?? []), record] } : e), options)
    const code = encodeShareCode(ownerFileCapabilities(this.deps.master, parseFileId(entry.fileId)).read)
    const size = tree === undefined ? entry.size : entries.reduce((n, e) => n + e.size, 0)
    // the short code carries the long one, so it opens exactly what the long one does
    const shortCode = request.shortCodeTtlMs === undefined ? undefined : this.shortCodes!.offer(utf8.encode(code), { ttlMs: request.shortCodeTtlMs })
    return {
      code, name: entry.name, size, fileId: entry.fileId, earlier,
      ...(record.expiresAt === undefined ? {} : { expiresAt: record.expiresAt }),
      ...(shortCode === undefined ? {} : { shortCode })
    }
  }

  /** Every file that has been shared, with its shares. */
  async shares (options?: AbortOptions): Promise<SharedEntry[]> {
    return (await this.list(options)).filter((e) => (e.shares?.length ?? 0) > 0)
      .map((e) => ({ fileId: e.fileId, name: e.name, shares: e.shares! }))
  }

  /**
   * Revokes every share of one file by rotating it: the file is read back from the
   * federation, stored again under a new file id (fresh read, write and delete keys and
   * commitments), the catalogue entry is replaced, and the old chunks and manifest are
   * deleted. An old code then finds no manifest its pin accepts, on any holder that answered.
   */
  async unshare (ref: string, options?: AbortOptions): Promise<Revocation> {
    const entries = this.resolve(await this.list(options), ref)
    const tree = treeRootOf(entries)
    return tree === undefined ? this.rotate(this.oneFile(entries, ref), options) : this.rotateTree(tree, options)
  }

  /** Revokes every share whose expiry has passed; the files rotated. Run by the daemon's background tasks. */
  async expireShares (options?: AbortOptions): Promise<Revocation[]> {
    const now = (this.now ?? Date.now)()
    const due = ((await this.catalogue.loaded(options))?.entries ?? []).filter((e) => e.shares?.some((s) => s.expiresAt !== undefined && s.expiresAt <= now))
    const done: Revocation[] = []
    for (const entry of due) {
      try {
        done.push(entry.kind === 'directory' ? await this.rotateTree(entry, options) : await this.rotate(entry, options))
      } catch (err) {
        this.deps.log.warn(`the expired share of ${entry.name} could not be revoked yet: ${(err as Error).message}; retrying later`)
      }
    }
    return done
  }

  /**
   * Fetches what a share code opens into `output` (default `cwd/<its name>`): one file,
   * or a whole tree when the code is a directory share.
   */
  async receive (code: string, target: { output?: string, cwd: string }, progress: (p: TransferEvent) => void, options?: AbortOptions): Promise<{ path: string, name: string, size: number }> {
    const read = decodeShareCode(await this.longCode(code, options))
    return PeerSessions.using(this.deps.federation, options, async (sessions) => {
      const secret = manifestSecret(read.readRoot)
      const peers = (await this.deps.federation.candidates({ signal: sessions.signal })).map((c) => c.peerId)
      const codec = sharedPieceCodec(read)
      const { pieces } = await gatherPieces(sessions, peers, secret, this.deps.log, { keep: (piece) => codec.opens(piece) })
      await sessions.release(secret)
      const manifest = newestManifest(pieces, read)
      if (manifest !== undefined) return this.receiveFile(read, manifest, target, progress, sessions)
      const listing = newestTreeListing(pieces, read)
      if (listing === undefined) {
        throw new FileUnavailableError('no reachable peer holds anything this share code opens: it may have been revoked or have expired, or its holders are offline')
      }
      const output = target.output ?? join(target.cwd, listing.root)
      await refuseExisting(output)
      const total = listing.entries.reduce((n, e) => n + (e.kind === 'file' ? e.size : 0), 0)
      let done = 0
      await receiveTree(this.deps, sessions, listing, output, (name, bytes) => { done += bytes; progress({ name, done, total }) })
      return { path: output, name: listing.root, size: total }
    })
  }

  /** A share code as given, or the one a short code's sharer hands over. */
  private async longCode (code: string, options?: AbortOptions): Promise<string> {
    if (!looksLikeShortCode(code)) return code
    if (this.shortCodes === undefined) throw new ShortCodesUnavailableError('this node cannot redeem short codes')
    const capability = await this.shortCodes.redeem(code, options)
    try {
      return strictUtf8.decode(capability)
    } catch (err) {
      throw new InvalidShareCodeError('the sharer\'s node handed over something that is not a share code', { cause: err })
    }
  }

  private async receiveFile (read: ReadCapability, manifest: Manifest, target: { output?: string, cwd: string }, progress: (p: TransferEvent) => void, sessions: PeerSessions): Promise<{ path: string, name: string, size: number }> {
    const output = target.output ?? join(target.cwd, basename(manifest.name))
    await refuseExisting(output)
    let done = 0
    await fetchFile(this.deps.federation, this.deps.log, {
      read,
      known: manifest,
      output,
      onProgress: (bytes) => { done += bytes; progress({ name: basename(output), done, total: manifest.size }) },
      codec: this.deps.codec
    }, { sessions })
    return { path: output, name: manifest.name, size: manifest.size }
  }

  /** Revokes a tree share: every file of the tree rotated, the tree given a new id, its old listings deleted. */
  private async rotateTree (root: CatalogueEntry, options?: AbortOptions): Promise<Revocation> {
    const files = (await this.list(options)).filter((e) => e.group?.id === root.group?.id && e.kind === 'file')
    const unreachable = new Set<string>()
    for (const file of files) for (const peer of (await this.rotate(file, options, false)).unreachable) unreachable.add(peer)
    const renamed = { ...root, fileId: fileIdToString(newFileId()) }
    delete renamed.shares
    await this.catalogue.update((entries) => entries.map((e) => e.fileId === root.fileId ? renamed : e), options)
    await PeerSessions.using(this.deps.federation, options, async (sessions) => deleteTreeListings(this.deps, sessions, root))
    this.deps.log.info(`revoked ${root.shares?.length ?? 0} share(s) of the tree ${root.name}`)
    return { name: root.name, previousFileId: root.fileId, fileId: renamed.fileId, revoked: root.shares?.length ?? 0, unreachable: [...unreachable] }
  }

  /**
   * Rotates one file. When the file belongs to a shared tree (and the tree itself is not
   * being rotated), the tree's listing is stored again with the file's new capability,
   * so the tree's code keeps opening every file of it.
   */
  private async rotate (entry: CatalogueEntry, options?: AbortOptions, refreshTree = true): Promise<Revocation> {
    const fileId = parseFileId(entry.fileId)
    // the plaintext passes through the owner's own disk, in a directory only the daemon's user can read
    const scratch = await mkdtemp(join(tmpdir(), 'quloud-rotate-'))
    const sessions = new PeerSessions(this.deps.federation, options)
    try {
      await chmod(scratch, 0o700)
      const path = join(scratch, 'file')
      const old = await fetchFile(this.deps.federation, this.deps.log, {
        fileId, read: ownerFileCapabilities(this.deps.master, fileId).read, ...(entry.manifest === undefined ? {} : { manifest: entry.manifest }), output: path, codec: this.deps.codec
      }, { ...options, sessions })
      // the new copy keeps the old one's scheme
      const replicas = Math.max(1, ...(entry.manifest ?? []).map((ref) => ref.holders.length))
      const { entry: rotated } = await putFile(this.deps, {
        path, name: entry.name, ...(entry.group === undefined ? {} : { group: entry.group }), size: entry.size, mode: entry.mode, mtimeMs: entry.mtimeMs, replicas, erasure: old.erasure
      }, { ...options, sessions })
      const catalogue = await this.catalogue.update((entries) => entries.map((e) => e.fileId === entry.fileId ? rotated : e), { ...options, sessions })
      const group = catalogue.entries.filter((e) => entry.group !== undefined && e.group?.id === entry.group.id)
      const tree = treeRootOf(group)
      if (refreshTree && tree !== undefined && (tree.shares?.length ?? 0) > 0) {
        await storeTreeListing(this.deps, sessions, tree, group, (this.now ?? Date.now)())
      }
      const removed = await removeFile(this.deps, entry, { ...options, sessions })
      if (removed.unreachable.length > 0) this.deps.log.warn(`the revoked copy of ${entry.name} stays on ${removed.unreachable.length} unreachable holder(s) for now`)
      this.deps.log.info(`revoked ${entry.shares?.length ?? 0} share(s) of ${entry.name}: now file ${rotated.fileId}`)
      return { name: entry.name, previousFileId: entry.fileId, fileId: rotated.fileId, revoked: entry.shares?.length ?? 0, unreachable: removed.unreachable }
    } finally {
      await sessions.close()
      await rm(scratch, { recursive: true, force: true })
    }
  }

  private oneFile (entries: CatalogueEntry[], ref: string): CatalogueEntry {
    const files = this.resolve(entries, ref).filter((e) => e.kind === 'file')
    if (files.length !== 1) throw new AmbiguousNameError(`${JSON.stringify(ref)} is not one file nor a directory stored with \`quloud put <dir>\``)
    return files[0]!
  }

  private resolve (entries: CatalogueEntry[], ref: string): CatalogueEntry[] {
    const byId = entries.filter((e) => e.fileId === ref || e.group?.id === ref)
    if (byId.length > 0) return byId.some((e) => e.group?.id === ref) ? byId.filter((e) => e.group?.id === ref) : byId
    const groups = new Set(entries.filter((e) => e.group?.root === ref && e.name === ref).map((e) => e.group!.id))
    const files = entries.filter((e) => e.kind === 'file' && e.name === ref && e.group === undefined)
    if (groups.size + files.length === 0) throw new NotFoundError(`no file or directory ${JSON.stringify(ref)} in the catalogue (see \`quloud ls\`)`)
    if (groups.size + files.length > 1) throw new AmbiguousNameError(`${JSON.stringify(ref)} names ${groups.size + files.length} entries; use an id from \`quloud ls\``)
    if (files.length === 1) return files
    const [group] = groups
    return entries.filter((e) => e.group?.id === group)
  }
}

async function refuseExisting (path: string): Promise<void> {
  if (await stat(path).then(() => true, () => false)) throw new OutputExistsError(`${path} exists already; choose another output with -o`)
}

