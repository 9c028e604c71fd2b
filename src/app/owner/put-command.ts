import type { CatalogueEntry } from '../../domain/formats/catalogue.ts'
import { fileIdToString, newFileId } from '../../domain/formats/file-id.ts'
import type { AbortOptions } from '../../ports/abort-options.ts'
import type { CatalogueService } from './catalogue-service.ts'
import { fileWeight, inFileWindow } from './file-window.ts'
import { expandInputs, type InputItem, type SkippedInput } from './input-paths.ts'
import { hashFile } from './file-content-hash.ts'
import { previousVersion, stampVersions } from './put-versions.ts'
import { contentHashKey, contentHashOf, statStamp } from '../../domain/formats/content-hash.ts'
import { PeerSessions } from './peer-sessions.ts'
import { resumablePut, type ResumablePut } from './put-resume.ts'
import { putFile, type OwnerDeps, type PutFileResult } from './put-file.ts'
import { BATCH_MAX_BYTES, BatchSequence } from './batches.ts'
import { PACKED_FILE_MAX_BYTES, PackWriters, readSmallFile } from './pack-writer.ts'
import { CHUNK_SIZE } from '../../domain/formats/chunker.ts'
import { ShardPlacementError } from '../../domain/membership/placement.ts'
import { AUTO_ERASURE_MIN_BYTES, AUTO_REPLICAS, autoScheme, formatScheme, shardsPerStripe, type ErasureScheme, type SchemeChoice } from '../../domain/formats/stripe-layout.ts'

export interface TransferEvent {
  name: string
  /** Bytes of the whole operation done so far, and in all. */
  done: number
  total: number
  /** Files of the operation finished so far, and in all. */
  filesDone?: number
  filesTotal?: number
}

export interface PutOutcome {
  id: string
  name: string
  kind: 'file' | 'directory'
  size: number
  files: number
  /** Symbolic links stored as links. */
  links: number
  /** Special files that could not be stored (sockets, fifos, devices). */
  skipped: SkippedInput[]
  /** Files unchanged since the newest version of this name: kept, not sent again. */
  unchanged: number
  /**
   * Files a put cut by the daemon's death had begun storing (put-resume.ts): a small file
   * stored whole, adopted; a larger or erasure-coded one with chunks or stripes
   * acknowledged, which were adopted while the rest was sent.
   */
  resumed: number
  underReplicated: boolean
  /**
   * Some file's copies or shards share one relay's subnet, or the peers without a public
   * address, beyond a subnet's share: stored, but a federation with more groups would
   * have spread them (placement.ts).
   */
  underDiversified: boolean
  holders: string[]
  /** How its files were stored: "replicas:N" or "K+M" (several, comma-separated, when its files differ). */
  scheme: string
}

export interface PutRequest {
  /** Files and directories to store, absolute. */
  paths: string[]
  /** Copies per chunk, or a scheme; `auto` is resolved once per command (autoScheme). */
  scheme: SchemeChoice
  progress: (p: TransferEvent) => void
}

/** A resolved choice: what putFile is given. */
interface Storage {
  replicas: number
  erasure?: ErasureScheme
}

/**
 * `put`: stores every file of every argument over one peer-session pool, then changes the
 * catalogue once for the whole command. When an argument fails, the arguments stored
 * before it still enter the catalogue (their bytes are in the federation already).
 */
export async function putPaths (deps: OwnerDeps, catalogue: CatalogueService, request: PutRequest, options?: AbortOptions): Promise<PutOutcome[]> {
  const { paths, progress } = request
  const inputs = await expandInputs(paths)
  for (const { path, kind } of inputs.flatMap((i) => i.skipped)) deps.log.warn(`skipped ${path}: a ${kind} cannot be stored`)
  const total = inputs.reduce((n, input) => n + input.items.reduce((m, item) => m + (item.kind === 'file' ? item.size : 0), 0), 0)
  const filesTotal = inputs.reduce((n, input) => n + input.items.filter((item) => item.kind === 'file').length, 0)
  const hashKey = contentHashKey(deps.master)
  let done = 0
  let filesDone = 0
  const outcomes: PutOutcome[] = []
  const stored: CatalogueEntry[] = []
  // the command's small files in as few batches as a holder can list: read and deleted later with one proof per holder
  const batches = await BatchSequence.open(deps.master, deps.journal, options)
  const sessions = new PeerSessions(deps.federation, options)
  const packs = new PackWriters(deps, sessions, hashKey)
  // released in the end, committed or not (ResumeClaims)
  let resuming: ResumablePut | undefined
  try {
    const before = (await catalogue.load({ ...options, sessions })).entries
    // the catalogue's holders take this command's change at its end, and in a small federation its packs too
    sessions.warm(Object.keys(catalogue.pieceHolders()))
    const resume = resuming = await resumablePut(deps.journal, new Set(before.map((e) => e.fileId)), hashKey, options)
    const storage = await resolveScheme(request.scheme, sessions, deps.codec)
    // auto: small files as copies (AUTO_ERASURE_MIN_BYTES)
    const storageFor = (size: number): Storage => request.scheme.kind === 'auto' && storage.erasure !== undefined && size < AUTO_ERASURE_MIN_BYTES ? { replicas: AUTO_REPLICAS } : storage
    for (const input of inputs) {
      const holders = new Set<string>()
      const schemes = new Set<string>()
      let underReplicated = false
      let underDiversified = false
      let unchanged = 0
      let resumed = 0
      const stampOf = (item: InputItem): { statStamp?: string } => item.identity === undefined ? {} : { statStamp: statStamp(hashKey, item.identity) }
      const previous = previousVersion(before, input, hashKey, (size) => storageFor(size).replicas)
      // files not written since the newest version are kept without a read or a task of
      // the window each: in a re-put of 2,000 files with 20 changed, that is 1,980
      const kept = input.items.map((item) => item.kind === 'file' ? previous.keptUnread(item) : undefined)
      const keptUnread = kept.filter((entry) => entry !== undefined)
      if (keptUnread.length > 0) {
        for (const entry of keptUnread) schemes.add(labelOf(storageFor(entry.size)))
        unchanged += keptUnread.length
        done += keptUnread.reduce((n, entry) => n + entry.size, 0)
        filesDone += keptUnread.length
        progress({ name: keptUnread[keptUnread.length - 1]!.name, done, total, filesDone, filesTotal })
      }
      const work = input.items.filter((_, i) => kept[i] === undefined)
      const worked = await inFileWindow(work, (item) => fileWeight(item.size), async (item): Promise<Later> => later(await (async (): Promise<CatalogueEntry | Later> => {
        const group = item.group === undefined ? {} : { group: item.group }
        if (item.kind === 'directory') {
          return { fileId: fileIdToString(newFileId()), name: item.name, kind: 'directory', size: 0, mode: item.mode, mtimeMs: item.mtimeMs, ...group }
        }
        if (item.kind === 'symlink') {
          return { fileId: fileIdToString(newFileId()), name: item.name, kind: 'symlink', size: 0, mode: item.mode, mtimeMs: item.mtimeMs, target: item.target!, ...group }
        }
        const scheme = storageFor(item.size)
        const packable = scheme.erasure === undefined && item.size > 0 && item.size <= PACKED_FILE_MAX_BYTES
        // a small file is read once: the bytes it is hashed by are those its pack takes if it changed
        let bytes: Uint8Array | undefined
        const same = await previous.unchanged(item, sessions.signal, packable ? async () => contentHashOf(hashKey, bytes = await readSmallFile(item)) : undefined)
        if (same !== undefined) {
          // kept with at least the copies or shards this put would give it
          schemes.add(labelOf(scheme))
          unchanged++
          done += item.size
          progress({ name: item.name, done, total, filesDone: ++filesDone, filesTotal })
          return same
        }
        const adopted = resume.size > 0 && scheme.erasure === undefined && item.size <= BATCH_MAX_BYTES
          ? await resume.take(item, hashKey, scheme.replicas, sessions.signal)
          : undefined
        if (adopted !== undefined) {
          schemes.add(labelOf(scheme))
          adopted.chunks!.forEach((c) => c.holders.forEach((h) => holders.add(h)))
          Object.assign(adopted, stampOf(item))
          resumed++
          done += item.size
          progress({ name: item.name, done, total, filesDone: ++filesDone, filesTotal })
          return adopted
        }
        if (packable) {
          // a small file goes into a pack (pack-writer.ts): its entry comes once its pack is stored
          const slot = await batches.take(1, options)
          const { stored: packed } = await packs.writerFor(slot, scheme.replicas).add({
            path: item.path, name: item.name, group: item.group, size: item.size, mode: item.mode, mtimeMs: item.mtimeMs, bytes,
            onProgress: (bytes) => { done += bytes; progress({ name: item.name, done, total, filesDone, filesTotal }) }
          })
          const entry = packed.then(async (result) => {
            // stored whole: a re-run after the daemon dies adopts it (put-resume.ts)
            await slot.journal?.stored({ ...result.entry, contentHash: result.contentHash! })
            schemes.add(labelOf(scheme))
            result.holders.forEach((h) => holders.add(h))
            underReplicated ||= result.underReplicated
            underDiversified ||= result.underDiversified
            progress({ name: item.name, done, total, filesDone: ++filesDone, filesTotal })
            return { ...result.entry, contentHash: result.contentHash!, ...stampOf(item) }
          })
          // awaited after the argument's window: a failed pack must not be an unhandled rejection meanwhile
          entry.catch(() => {})
          return { later: entry }
        }
        // a replicated file is hashed as it is chunked (putFile); an erasure-coded one is
        // read a second time beside the upload (the page cache serves it)
        const hashing = storageFor(item.size).erasure === undefined ? undefined : hashFile(item.path, hashKey, sessions.signal, item.size)
        hashing?.catch(() => {})
        // a file outside a batch a cut put began sending: its acknowledged chunks or stripes are adopted (put-resume.ts)
        const cut = scheme.erasure === undefined && item.size <= BATCH_MAX_BYTES ? undefined : resume.partial(item, scheme)
        const put = async (as: Storage): Promise<PutFileResult> => {
          const batched = as.erasure === undefined && item.size <= BATCH_MAX_BYTES
          const slot = batched ? await batches.take(Math.ceil(item.size / CHUNK_SIZE), options) : batches.first
          const result = await putFile(deps, {
            path: item.path,
            name: item.name,
            ...(item.group === undefined ? {} : { group: item.group }),
            size: item.size,
            mode: item.mode,
            mtimeMs: item.mtimeMs,
            ...as,
            ...(batched ? { batch: slot.batch } : {}),
            journal: slot.journal,
            contentHashKey: hashKey,
            ...(cut?.fits(item, as) === true ? { resume: cut } : {}),
            onProgress: (bytes) => { done += bytes; progress({ name: item.name, done, total, filesDone, filesTotal }) }
          }, { ...options, sessions })
          schemes.add(labelOf(as))
          // stored whole: a re-run after the daemon dies adopts it (put-resume.ts)
          if (batched && result.contentHash !== undefined) await slot.journal?.stored({ ...result.entry, contentHash: result.contentHash })
          return result
        }
        const result = await put(storageFor(item.size)).catch(async (err: unknown) => {
          // auto counted live peers, not their subnets and room: when they cannot take the
          // shards (nothing was sent yet), the file is stored as copies rather than not at all
          if (request.scheme.kind !== 'auto' || !(err instanceof ShardPlacementError)) throw err
          deps.log.warn(`${item.name}: ${err.message}; stored as ${AUTO_REPLICAS} copies instead`)
          return put({ replicas: AUTO_REPLICAS })
        })
        const contentHash = result.contentHash ?? await (hashing ?? hashFile(item.path, hashKey, sessions.signal, item.size))
        if ((cut?.adoptedUnits ?? 0) > 0) resumed++
        result.holders.forEach((h) => holders.add(h))
        underReplicated ||= result.underReplicated
        underDiversified ||= result.underDiversified
        progress({ name: item.name, done, total, filesDone: ++filesDone, filesTotal })
        return { ...result.entry, contentHash, ...stampOf(item) }
      })()))
      // the last packs of this argument are sent now: its files wait for them
      await packs.flush()
      const finished = await Promise.all(worked.map(async ({ later }) => later))
      // in the tree's order, as the walk found it
      let next = 0
      const entries = kept.map((entry) => entry ?? finished[next++]!)
      stored.push(...entries)
      const files = entries.filter((e) => e.kind === 'file')
      outcomes.push({
        id: input.group?.id ?? files[0]!.fileId,
        name: input.group?.root ?? files[0]!.name,
        kind: input.group === undefined ? 'file' : 'directory',
        size: files.reduce((n, e) => n + e.size, 0),
        files: files.length,
        links: entries.filter((e) => e.kind === 'symlink').length,
        skipped: input.skipped,
        unchanged,
        resumed,
        underReplicated,
        underDiversified,
        holders: [...holders],
        scheme: schemes.size === 0 ? labelOf(storage) : [...schemes].sort().join(', ')
      })
    }
    // the catalogue changes once per command, after all its files are stored; the
    // previous generation is deleted behind the answer
    await catalogue.update((current) => [...current, ...stampVersions(current, current === before ? stored : whereNow(current, stored), Date.now())], { ...options, sessions, staleInBackground: true })
    // committed: what it adopted is the catalogue's, whatever the batch's end does
    resume.committed()
    await batches.done()
    return outcomes
  } catch (err) {
    // the pack being filled is not sent, and none on its way is stored after the put failed returns: what was sent is undone with the batch
    await packs.abandon(err)
    // what entered the catalogue is no other re-run's to adopt (its cut put is not marked resumed)
    if (stored.length > 0 && outcomes.length < inputs.length && await keepStored(deps, catalogue, stored)) for (const e of stored) deps.journal?.handOver(e.fileId)
    // what was sent and is not in the catalogue now is deleted in the background
    batches.failed()
    throw err
  } finally {
    resuming?.ended()
    await sessions.close()
  }
}

/** After a failed put: the arguments stored before the failure enter the catalogue, whatever the signal says. */
async function keepStored (deps: OwnerDeps, catalogue: CatalogueService, stored: CatalogueEntry[]): Promise<boolean> {
  return await catalogue.update((current) => [...current, ...stampVersions(current, whereNow(current, stored), Date.now())]).then(() => true, (err) => {
    deps.log.warn(`${stored.length} stored entries could not enter the catalogue: ${(err as Error).message}`)
    return false
  })
}

/**
 * `stored` with each file kept unchanged from an earlier version placed where the
 * catalogue has it now: an rm, forget or share that ran while this put did may have
 * rewritten its pack or taken it out (repack.ts), and the copy read at the put's start
 * would name a pack that is gone. Not needed when the catalogue is still the one the put
 * read (the same list: catalogues are never changed in place).
 */
function whereNow (current: readonly CatalogueEntry[], stored: readonly CatalogueEntry[]): CatalogueEntry[] {
  const wanted = new Set(stored.filter((e) => e.kind === 'file').map((e) => e.fileId))
  const now = new Map<string, CatalogueEntry>()
  for (const e of current) if (e.kind === 'file' && wanted.has(e.fileId)) now.set(e.fileId, e)
  return stored.map((e) => {
    const there = e.kind === 'file' ? now.get(e.fileId) : undefined
    if (there === undefined) return e
    const { chunks, manifest } = there
    return { ...e, ...(chunks === undefined ? {} : { chunks }), ...(manifest === undefined ? {} : { manifest }) }
  })
}

/** A file's entry, or, for a file in a pack, the entry it will have once its pack is stored. */
interface Later {
  later: Promise<CatalogueEntry>
}

function later (entry: CatalogueEntry | Later): Later {
  return 'later' in entry ? entry : { later: Promise.resolve(entry) }
}

function labelOf (storage: Storage): string {
  return storage.erasure === undefined ? `replicas:${storage.replicas}` : formatScheme(storage.erasure)
}

/**
 * What `choice` means now: `auto` counts the storage nodes that could take a shard
 * (reachable, with room) and asks autoScheme, within what this node's codec can code.
 */
async function resolveScheme (choice: SchemeChoice, sessions: PeerSessions, codec: OwnerDeps['codec']): Promise<Storage> {
  if (choice.kind === 'replicas') return { replicas: choice.replicas }
  if (choice.kind === 'erasure') return { replicas: shardsPerStripe(choice.scheme), erasure: choice.scheme }
  // the operation's list, which its placements and the catalogue update read too
  const nodes = (await sessions.candidates()).filter((c) => c.reachable && c.freeBytes > 0).length
  const limits = codec?.limits
  const auto = autoScheme(nodes)
  if (auto.kind === 'replicas' || limits === undefined) return { replicas: auto.kind === 'replicas' ? auto.replicas : AUTO_REPLICAS }
  const parity = Math.min(auto.scheme.parity, limits.maxParity)
  const data = Math.min(auto.scheme.data, limits.maxData)
  return { replicas: data + parity, erasure: { data, parity } }
}
