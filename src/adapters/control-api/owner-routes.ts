import { isAbsolute } from 'node:path'
import type { ExistingPolicy, OwnerService } from '../../app/owner/owner-service.ts'
import type { RepairService } from '../../app/owner/repair-service.ts'
import type { CatalogueEntry } from '../../domain/formats/catalogue.ts'
import { summariseVersion } from '../../domain/formats/catalogue-paths.ts'
import { InvalidInputError } from '../../errors.ts'
import type { ApiHandler } from './control-api-server.ts'
import { MAX_REPLICAS, parseSchemeChoice } from '../../domain/formats/stripe-layout.ts'

const EXISTING_POLICIES: readonly ExistingPolicy[] = ['refuse', 'skip', 'overwrite']

/** Owner routes that take a body but only read: a `quloud ls` is not activity. */
export const OWNER_READ_ONLY_ROUTES = ['POST /v1/list', 'POST /v1/versions'] as const

/** The owner workflows as control API routes; bodies are checked before any work. */
export function ownerRoutes (owner: OwnerService, repair: RepairService): Record<string, ApiHandler> {
  return {
    ...repairRoutes(repair),
    'POST /v1/put': async (body, signal, progress) => {
      const { paths, replicas, erasure } = object(body)
      if (!Array.isArray(paths) || paths.length === 0 || !paths.every(isAbsolutePath)) throw new InvalidInputError('put needs "paths": absolute paths')
      if (replicas !== undefined && (!Number.isInteger(replicas) || (replicas as number) < 1 || (replicas as number) > MAX_REPLICAS)) throw new InvalidInputError(`"replicas" must be an integer from 1 to ${MAX_REPLICAS}`)
      if (replicas !== undefined && erasure !== undefined) throw new InvalidInputError('put takes "replicas" or "erasure", not both')
      // neither: the node's own `erasure` setting decides
      const scheme = erasure === undefined ? replicas as number | undefined : parseSchemeChoice(text(erasure, 'erasure'))
      return owner.put(paths as string[], scheme, progress, { signal })
    },
    'GET /v1/files': async (_body, signal) => withHealth(repair, await owner.list({ signal }), signal),
    'POST /v1/list': async (body, signal) => {
      const { ref, tree } = body === undefined ? {} : object(body)
      if (tree !== undefined && typeof tree !== 'boolean') throw new InvalidInputError('"tree" must be true or false')
      const listing = await owner.listing({ ...(ref === undefined ? {} : { ref: text(ref, 'ref') }), tree: tree === true }, { signal })
      return { ...listing, entries: await withHealth(repair, listing.entries, signal) }
    },
    'POST /v1/get': async (body, signal, progress) => {
      const { ref, output, cwd, existing, version, at } = object(body)
      if (at !== undefined && !Number.isSafeInteger(at)) throw new InvalidInputError('"at" must be unix ms')
      if (existing !== undefined && !EXISTING_POLICIES.includes(existing as ExistingPolicy)) throw new InvalidInputError(`"existing" must be one of ${EXISTING_POLICIES.join(', ')}`)
      return owner.get(text(ref, 'ref'), {
        ...target(output, cwd),
        ...(existing === undefined ? {} : { existing: existing as ExistingPolicy }),
        ...(version === undefined ? {} : { version: positive(version, 'version') }),
        ...(at === undefined ? {} : { at: at as number })
      }, progress, { signal })
    },
    'POST /v1/rm': async (body, signal, progress) => owner.remove(text(object(body).ref, 'ref'), { signal }, progress),
    'POST /v1/versions': async (body, signal) => {
      const { ref, entries } = object(body)
      if (entries !== undefined && typeof entries !== 'boolean') throw new InvalidInputError('"entries" must be true or false')
      return (await owner.versions(text(ref, 'ref'), { signal })).map((v) => summariseVersion(v, entries === true))
    },
    'POST /v1/forget': async (body, signal, progress) => {
      const { ref, keepLast, keepWithinMs } = object(body)
      if (keepWithinMs !== undefined && (!Number.isSafeInteger(keepWithinMs) || (keepWithinMs as number) < 0)) throw new InvalidInputError('"keepWithinMs" must be a non-negative integer')
      return owner.forget(text(ref, 'ref'), {
        ...(keepLast === undefined ? {} : { keepLast: positive(keepLast, 'keepLast') }),
        ...(keepWithinMs === undefined ? {} : { keepWithinMs: keepWithinMs as number })
      }, { signal }, progress)
    },
    'POST /v1/share': async (body, signal) => {
      const { ref, label, expiresInMs, shortCodeTtlMs } = object(body)
      if (shortCodeTtlMs !== undefined && (!Number.isSafeInteger(shortCodeTtlMs) || (shortCodeTtlMs as number) < 1)) throw new InvalidInputError('"shortCodeTtlMs" must be a positive integer')
      if (label !== undefined && typeof label !== 'string') throw new InvalidInputError('"label" must be a string')
      if (expiresInMs !== undefined && (!Number.isSafeInteger(expiresInMs) || (expiresInMs as number) < 1)) throw new InvalidInputError('"expiresInMs" must be a positive integer')
      return owner.share(text(ref, 'ref'), {
        ...(label === undefined ? {} : { label: label as string }),
        ...(expiresInMs === undefined ? {} : { expiresAt: Date.now() + (expiresInMs as number) }),
        ...(shortCodeTtlMs === undefined ? {} : { shortCodeTtlMs: shortCodeTtlMs as number })
      }, { signal })
    },
    'GET /v1/shares': async (_body, signal) => owner.shares({ signal }),
    'POST /v1/unshare': async (body, signal) => owner.unshare(text(object(body).ref, 'ref'), { signal }),
    'POST /v1/receive': async (body, signal, progress) => {
      const { code, output, cwd } = object(body)
      return owner.receive(text(code, 'code'), target(output, cwd), progress, { signal })
    }
  }
}

/** `quloud check` and the repair queue. */
function repairRoutes (repair: RepairService): Record<string, ApiHandler> {
  return {
    'POST /v1/check': async (body, signal) => {
      const { ref, repair: mend } = object(body)
      if (mend !== undefined && typeof mend !== 'boolean') throw new InvalidInputError('"repair" must be true or false')
      return repair.check(ref === undefined ? undefined : text(ref, 'ref'), { signal, repair: mend === true })
    },
    'GET /v1/repair': async () => repair.queue()
  }
}

/** `entries` with health and durability, known for the files whose manifest an audit round has read. */
async function withHealth<T extends CatalogueEntry> (repair: RepairService, entries: T[], signal: AbortSignal): Promise<T[]> {
  const state = await repair.stateOf(entries, { signal })
  return entries.map((e) => {
    const known = state.get(e.fileId)
    return known === undefined ? e : { ...e, health: known.health, durability: known.durability }
  })
}

function object (body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new InvalidInputError('the request body must be a JSON object')
  return body as Record<string, unknown>
}

function text (value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 4096) throw new InvalidInputError(`"${name}" must be a non-empty string`)
  return value
}

function positive (value: unknown, name: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 1) throw new InvalidInputError(`"${name}" must be a positive integer`)
  return value as number
}

function isAbsolutePath (value: unknown): value is string {
  return typeof value === 'string' && isAbsolute(value) && !value.includes('\0')
}

function target (output: unknown, cwd: unknown): { output?: string, cwd: string } {
  if (!isAbsolutePath(cwd)) throw new InvalidInputError('"cwd" must be an absolute path')
  if (output === undefined || output === null) return { cwd }
  if (!isAbsolutePath(output)) throw new InvalidInputError('"output" must be an absolute path')
  return { output, cwd }
}
