import { chmod, mkdir, stat, utimes } from 'node:fs/promises'
import { basename, join } from 'node:path'
import type { CatalogueEntry } from '../../domain/formats/catalogue.ts'
import { parseFileId } from '../../domain/formats/file-id.ts'
import { fileRoot } from '../../domain/crypto/key-derivation.ts'
import { decodeShareCode, encodeShareCode } from '../../domain/formats/share-code.ts'
import { defineError, NotFoundError } from '../../errors.ts'
import type { AbortOptions } from '../../ports/abort-options.ts'
import type { CatalogueService } from './catalogue-service.ts'
import { fetchFile } from './fetch-file.ts'
import { FILES_IN_FLIGHT, inParallel } from './in-parallel.ts'
import { PeerSessions } from './peer-sessions.ts'
import { putPaths, type PutOutcome, type TransferEvent } from './put-command.ts'
import type { OwnerDeps } from './put-file.ts'
import { removeFile, type RemovalReport } from './remove-file.ts'

/** A name matches several catalogue entries: the caller must use an id. */
export const AmbiguousNameError = defineError('AmbiguousNameError', 'ambiguous-name')
/** `get`/`receive` would overwrite an existing file. */
export const OutputExistsError = defineError('OutputExistsError', 'output-exists')

export type { PutOutcome, TransferEvent }

/** The owner's workflows, as the control API offers them. */
export class OwnerService {
  private readonly deps: OwnerDeps
  private readonly catalogue: CatalogueService

  constructor (deps: OwnerDeps, catalogue: CatalogueService) {
    this.deps = deps
    this.catalogue = catalogue
  }

  /** Stores files and trees; the catalogue changes once for the whole command (putPaths). */
  async put (paths: string[], replicas: number, progress: (p: TransferEvent) => void, options?: AbortOptions): Promise<PutOutcome[]> {
    return putPaths(this.deps, this.catalogue, { paths, replicas, progress }, options)
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
          root: fileRoot(this.deps.master, fileId),
          ...(entry.manifest === undefined ? {} : { manifest: entry.manifest }),
          output: destination(entry),
          onProgress: (bytes) => { done += bytes; progress({ name: entry.name, done, total }) }
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
      const gone = new Set(entries.map((e) => e.fileId))
      await this.catalogue.update((current) => current.filter((e) => !gone.has(e.fileId)), { ...options, sessions })
      return reports
    } finally {
      await sessions.close()
    }
  }

  /** A share code for one file: its id and root secret, nothing more. */
  async share (ref: string, options?: AbortOptions): Promise<{ code: string, name: string, size: number }> {
    const entries = this.resolve(await this.list(options), ref).filter((e) => e.kind === 'file')
    if (entries.length !== 1) throw new AmbiguousNameError(`${ref} is a directory; share its files one by one`)
    const entry = entries[0]!
    const fileId = parseFileId(entry.fileId)
    return { code: encodeShareCode({ fileId, fileRoot: fileRoot(this.deps.master, fileId) }), name: entry.name, size: entry.size }
  }

  /** Fetches a shared file into `output` (default `cwd/<its name>`). */
  async receive (code: string, target: { output?: string, cwd: string }, progress: (p: TransferEvent) => void, options?: AbortOptions): Promise<{ path: string, name: string, size: number }> {
    const shared = decodeShareCode(code)
    let output = ''
    let total = 0
    let done = 0
    const manifest = await fetchFile(this.deps.federation, this.deps.log, {
      fileId: shared.fileId,
      root: shared.fileRoot,
      output: async (found) => {
        output = target.output ?? join(target.cwd, basename(found.name))
        total = found.size
        await refuseExisting(output)
        return output
      },
      onProgress: (bytes) => { done += bytes; progress({ name: basename(output), done, total }) }
    }, options)
    return { path: output, name: manifest.name, size: manifest.size }
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
