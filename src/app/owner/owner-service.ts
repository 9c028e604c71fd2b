import type { Stats } from 'node:fs'
import { chmod, lstat, mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { MAX_SHARE_LABEL_LENGTH, MAX_SHARES_PER_FILE, type CatalogueEntry, type ShareRecord } from '../../domain/formats/catalogue.ts'
import { fileIdToString, newFileId, parseFileId } from '../../domain/formats/file-id.ts'
import { ownerFileCapabilities, type ReadCapability } from '../../domain/capabilities/file-capabilities.ts'
import { manifestSecret } from '../../domain/crypto/key-derivation.ts'
import { newestManifest, sharedPieceCodec, type Manifest } from '../../domain/formats/manifest.ts'
import { decodeShareCode, encodeShareCode, InvalidShareCodeError } from '../../domain/formats/share-code.ts'
import { looksLikeShortCode } from '../../domain/formats/short-code.ts'
import { newestTreeListing } from '../../domain/formats/tree-listing.ts'
import { listCatalogue, type Listing, type ListingRequest } from '../../domain/formats/catalogue-listing.ts'
import { AmbiguousNameError, resolveReference, selectionOf, versionsOf, type StoredVersion } from '../../domain/formats/catalogue-paths.ts'
import { lastSegment } from '../../domain/formats/relative-path.ts'
import { versionsToForget, type ForgetPolicy } from '../../domain/formats/forget-policy.ts'
import { contentHashKey } from '../../domain/formats/content-hash.ts'
import { hashFile } from './file-content-hash.ts'
import { defineError, InvalidInputError } from '../../errors.ts'
import type { AbortOptions } from '../../ports/abort-options.ts'
import type { CatalogueService } from './catalogue-service.ts'
import { gatherPieces } from './federation-pieces.ts'
import { batchedReadOf } from './batches.ts'
import { PackReads } from './pack-reads.ts'
import { repackPacks } from './repack.ts'
import { fetchFile, FileUnavailableError } from './fetch-file.ts'
import { deleteTreeListings, receiveTree, storeTreeListing } from './tree-share.ts'
import { impliedManifest, lacksManifest, withManifests } from './batched-manifest.ts'
import { OutputTree } from './output-tree.ts'
import { OutputExistsError } from './partial-file.ts'
import { restoreItems, type ExistingPolicy, type RestoreReport } from './restore-items.ts'
import { PeerSessions } from './peer-sessions.ts'
import { putPaths, type PutOutcome, type TransferEvent } from './put-command.ts'
import { putFile, type OwnerDeps } from './put-file.ts'
import type { SchemeChoice } from '../../domain/formats/stripe-layout.ts'
import { removeFile, type RemovalReport } from './remove-file.ts'
import { refreshSharedAbove, removeEntries, type RemovalProgress } from './remove-entries.ts'

const utf8 = new TextEncoder()
const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

export { AmbiguousNameError, OutputExistsError }
export type { ExistingPolicy, RemovalProgress, RestoreReport, StoredVersion }
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

/** Where `get` writes, and what it does with files that exist there. */
export interface RestoreTarget {
  output?: string
  cwd: string
  existing?: ExistingPolicy
  /** Which version of the name (default: the newest). */
  version?: number
  /** Else the newest version stored at or before this unix ms. */
  at?: number
}

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

  /**
   * Restores what `ref` names (resolveReference: a file, a directory at any depth, an id
   * or a prefix of one) under `output`, by default `cwd/<its last name segment>`. Nothing
   * is written through a link found below the output (output-tree.ts); files existing
   * there are refused, kept when they match (`skip`) or replaced (`overwrite`).
   */
  async get (ref: string, target: RestoreTarget, progress: (p: TransferEvent) => void, options?: AbortOptions): Promise<RestoreReport> {
    const { top, entries } = resolveReference(await this.list(options), ref, {
      ...(target.version === undefined ? {} : { version: target.version }),
      ...(target.at === undefined ? {} : { at: target.at })
    })
    const base = target.output ?? join(target.cwd, lastSegment(top.name))
    const single = top.kind !== 'directory'
    if (single) await mkdir(dirname(base), { recursive: true })
    const tree = new OutputTree(single ? dirname(base) : base)
    if (!single) await tree.prepare()
    const items = entries.map((entry) => ({
      ...entry,
      rel: single ? basename(base) : entry.name.slice(top.name.length + 1)
    }))
    const total = entries.reduce((n, e) => n + e.size, 0)
    const filesTotal = entries.filter((e) => e.kind === 'file').length
    let done = 0
    let filesDone = 0
    const hashKey = contentHashKey(this.deps.master)
    const sessions = new PeerSessions(this.deps.federation, options)
    const packs = new PackReads(sessions)
    try {
      return await restoreItems(tree, items, target.existing ?? 'refuse', {
        directoryModeMask: 0o7777,
        same: async (entry, path, info) => sameContent(entry, path, info, hashKey, options?.signal),
        fetch: async (entry, output, replace) => {
          const fileId = parseFileId(entry.fileId)
          await fetchFile(this.deps.federation, this.deps.log, {
            fileId,
            read: ownerFileCapabilities(this.deps.master, fileId).read,
            ...(entry.manifest === undefined ? {} : { manifest: entry.manifest }),
            ...batchedReadOf(this.deps.master, entry, packs),
            entry,
            output,
            replace,
            onProgress: (bytes) => { done += bytes; progress({ name: entry.name, done, total, filesDone, filesTotal }) },
            codec: this.deps.codec,
            cache: this.deps.manifestCache
          }, { ...options, sessions })
          filesDone++
          progress({ name: entry.name, done, total, filesDone, filesTotal })
        }
      })
    } finally {
      await sessions.close()
    }
  }

  /**
   * Deletes what `ref` names from every holder and from the catalogue; `progress` hears
   * each file as its holders answered. Listings of shared trees inside it are deleted,
   * and those of shared directories above it stored again without it.
   */
  async remove (ref: string, options?: AbortOptions & { version?: number }, progress?: (p: RemovalProgress) => void): Promise<RemovalReport[]> {
    const all = await this.list(options)
    const { top, entries } = resolveReference(all, ref, options)
    return removeEntries(this.deps, this.catalogue, { all, doomed: entries, tops: [top], now: this.now }, options, progress)
  }

  /** Every stored version of what `ref` names, oldest first (`ls --versions`). */
  async versions (ref: string, options?: AbortOptions): Promise<StoredVersion[]> {
    return versionsOf(await this.list(options), ref)
  }

  /** What `ls` shows (catalogue-listing.ts), worked out here: the CLI and the dashboard are sent only that. */
  async listing (request: ListingRequest, options?: AbortOptions): Promise<Listing> {
    return listCatalogue(await this.list(options), request)
  }

  /**
   * Forgets the versions of what `ref` names that `policy` does not keep
   * (forget-policy.ts): their entries leave the catalogue, and the chunks of every file
   * no kept version still holds are deleted from their holders.
   */
  async forget (ref: string, policy: ForgetPolicy, options?: AbortOptions, progress?: (p: RemovalProgress) => void): Promise<{ forgotten: number[], kept: number[], reports: RemovalReport[] }> {
    const all = await this.list(options)
    const versions = versionsOf(all, ref)
    const doomed = versionsToForget(versions, policy, (this.now ?? Date.now)())
    const reports = doomed.length === 0 ? [] : await removeEntries(this.deps, this.catalogue, { all, doomed: doomed.flatMap((v) => v.entries), tops: doomed.map((v) => v.top), now: this.now }, options, progress)
    return { forgotten: doomed.map((v) => v.version), kept: versions.filter((v) => !doomed.includes(v)).map((v) => v.version), reports }
  }

  /**
   * A share code for one file: its read capability, nothing more. The share is recorded
   * in the catalogue (label, time, expiry) so `shares` lists it and the daemon revokes
   * it when it expires. Every share of one file is the same code.
   */
  async share (ref: string, request: ShareRequest = {}, options?: AbortOptions): Promise<GivenShare> {
    const { top, entries } = resolveReference(await this.list(options), ref)
    const tree = top.kind === 'directory' ? top : undefined
    const entry = top
    if (entry.kind === 'symlink') throw new InvalidInputError(`${entry.name} is a symbolic link; share the file or directory it belongs to`)
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
    // a batched file has no manifest until it is first shared (batched-manifest.ts); its code opens one
    const manifests = new Map<string, Pick<CatalogueEntry, 'manifest' | 'chunks'>>()
    const files = entries.filter(lacksManifest)
    // the listing is stored once per tree id: every share of the tree is the same code
    const listing = tree !== undefined && earlier === 0
    // what is stored before the catalogue records the share is journaled: undone in the background if it never does
    const journal = files.length > 0 || listing ? await this.deps.journal?.startShare(listing ? tree.fileId : undefined, options) : undefined
    try {
      await PeerSessions.using(this.deps.federation, options, async (sessions) => {
        // a packed file comes out of its pack (batched-manifest.ts): every version of it names its chunk alone
        for (const prepared of await withManifests(this.deps, sessions, files, journal)) manifests.set(prepared.fileId, { manifest: prepared.manifest, chunks: prepared.chunks })
        if (listing) await storeTreeListing(this.deps, sessions, tree, entries, now)
      })
      await this.catalogue.update((current) => current.map((e) => {
        const prepared = manifests.get(e.fileId)
        const withManifest = prepared?.manifest === undefined || e.manifest !== undefined ? e : { ...e, manifest: prepared.manifest, chunks: prepared.chunks }
        return e.fileId === entry.fileId ? { ...withManifest, shares: [...(e.shares ?? []), record] } : withManifest
      }), options)
      // the packs the shared files came out of keep their slices as dead bytes: rewritten without them
      await PeerSessions.using(this.deps.federation, options, async (sessions) => repackPacks(this.deps, this.catalogue, sessions, files))
    } catch (err) {
      journal?.failed()
      throw err
    }
    await journal?.done()
    const code = encodeShareCode(ownerFileCapabilities(this.deps.master, parseFileId(entry.fileId)).read)
    const size = entries.reduce((n, e) => n + e.size, 0)
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
    // a file kept unchanged in several versions is one file with one set of shares
    const shared = (await this.list(options)).filter((e) => (e.shares?.length ?? 0) > 0)
    return [...new Map(shared.map((e) => [e.fileId, { fileId: e.fileId, name: e.name, shares: e.shares! }])).values()]
  }

  /**
   * Revokes every share of one file by rotating it: the file is read back from the
   * federation, stored again under a new file id (fresh read, write and delete keys and
   * commitments), the catalogue entry is replaced, and the old chunks and manifest are
   * deleted. An old code then finds no manifest its pin accepts, on any holder that answered.
   */
  async unshare (ref: string, options?: AbortOptions): Promise<Revocation> {
    const { top } = resolveReference(await this.list(options), ref)
    if (top.kind === 'symlink') throw new InvalidInputError(`${top.name} is a symbolic link: it has no shares`)
    return top.kind === 'directory' ? this.rotateTree(top, options) : this.rotate(top, options)
  }

  /** Revokes every share whose expiry has passed; the files rotated. Run by the daemon's background tasks. */
  async expireShares (options?: AbortOptions): Promise<Revocation[]> {
    const now = (this.now ?? Date.now)()
    const expired = ((await this.catalogue.loaded(options))?.entries ?? []).filter((e) => e.shares?.some((s) => s.expiresAt !== undefined && s.expiresAt <= now))
    // one rotation per file, however many versions hold it
    const due = [...new Map(expired.map((e) => [e.fileId, e])).values()]
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
    await mkdir(dirname(output), { recursive: true })
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
    const files = selectionOf(await this.list(options), root).entries.filter((e) => e.kind === 'file')
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
        fileId, read: ownerFileCapabilities(this.deps.master, fileId).read, ...(entry.manifest === undefined ? {} : { manifest: entry.manifest }), output: path, codec: this.deps.codec, cache: this.deps.manifestCache,
        ...(lacksManifest(entry) ? { known: impliedManifest(this.deps.master, entry) } : {})
      }, { ...options, sessions })
      // the new copy keeps the old one's scheme
      const replicas = Math.max(1, ...(entry.manifest ?? entry.chunks ?? []).map((ref) => ref.holders.length))
      const { entry: stored } = await putFile(this.deps, {
        path, name: entry.name, ...(entry.group === undefined ? {} : { group: entry.group }), size: entry.size, mode: entry.mode, mtimeMs: entry.mtimeMs, replicas, erasure: old.erasure
      }, { ...options, sessions })
      // the same content under new keys: the owner's content hash does not change
      const rotated = entry.contentHash === undefined ? stored : { ...stored, contentHash: entry.contentHash }
      // every version holding the file moves to the new id, each keeping its own place
      // (its shares are the ones revoked: they go)
      const moved = (e: CatalogueEntry): CatalogueEntry => {
        const next: CatalogueEntry = { ...rotated, ...(e.group === undefined ? {} : { group: e.group }) }
        if (e.version !== undefined) next.version = e.version
        if (e.storedAt !== undefined) next.storedAt = e.storedAt
        return next
      }
      const catalogue = await this.catalogue.update((entries) => entries.map((e) => e.fileId === entry.fileId ? moved(e) : e), { ...options, sessions })
      if (refreshTree) await refreshSharedAbove(this.deps, sessions, catalogue.entries, rotated, (this.now ?? Date.now)())
      const removed = await removeFile(this.deps, entry, { ...options, sessions })
      if (removed.unreachable.length > 0) this.deps.log.warn(`the revoked copy of ${entry.name} stays on ${removed.unreachable.length} unreachable holder(s) for now`)
      this.deps.log.info(`revoked ${entry.shares?.length ?? 0} share(s) of ${entry.name}: now file ${rotated.fileId}`)
      return { name: entry.name, previousFileId: entry.fileId, fileId: rotated.fileId, revoked: entry.shares?.length ?? 0, unreachable: removed.unreachable }
    } finally {
      await sessions.close()
      await rm(scratch, { recursive: true, force: true })
    }
  }

}

async function refuseExisting (path: string): Promise<void> {
  if (await lstat(path).then(() => true, () => false)) throw new OutputExistsError(`${path} exists already; choose another output with -o`)
}

/**
 * Whether the file at `path` is the stored one: by its keyed content hash when the
 * catalogue has one (version 3); an older entry has none, and then the size and the
 * modification time a restore gives its files decide.
 */
async function sameContent (entry: CatalogueEntry, path: string, info: Stats, key: Uint8Array, signal?: AbortSignal): Promise<boolean> {
  if (info.size !== entry.size) return false
  if (entry.contentHash !== undefined) return await hashFile(path, key, signal, info.size) === entry.contentHash
  return Math.floor(info.mtimeMs) === Math.floor(entry.mtimeMs)
}

