import { defineError } from '../../errors.ts'

/**
 * The name a file is stored under, in its manifest and in the catalogue: a relative
 * path with '/' between segments, e.g. `photos/2024/a.jpg`. `get` and `receive` write
 * files at these paths under a directory the user chose, and the names come back from
 * the network (a friend's manifest) or from a catalogue written by another
 * implementation, so a name must never reach outside that directory.
 *
 * A valid name:
 * - is a non-empty well-formed Unicode string (no lone surrogates) of at most
 *   MAX_NAME_BYTES in UTF-8;
 * - contains no NUL (C file APIs would cut it there);
 * - does not start with '/' (absolute) and has no empty, '.' or '..' segment (so no
 *   '//', no trailing '/', no climbing out);
 * - has no segment longer than MAX_SEGMENT_BYTES (what every common file system allows).
 *
 * Backslashes, colons and the like are ordinary characters: they are legal in Linux
 * file names, and a restorer on a system where they are not must map them itself.
 * Names are kept as given (no Unicode normalisation), so a file comes back under the
 * exact bytes it was stored with.
 */

/** PATH_MAX on Linux. */
export const MAX_NAME_BYTES = 4096

/** NAME_MAX on Linux and most file systems. */
export const MAX_SEGMENT_BYTES = 255

/** The name is not a safe relative path. */
export const InvalidNameError = defineError('InvalidNameError', 'invalid-name')
export type InvalidNameError = InstanceType<typeof InvalidNameError>

const encoder = new TextEncoder()
// with the u flag a well-formed pair is one code point, so only a lone half matches
const LONE_SURROGATE = /\p{Cs}/u

/** Why `name` is not a valid relative path, or undefined when it is one. */
export function relativePathProblem (name: unknown): string | undefined {
  if (typeof name !== 'string') return 'a name is a string'
  if (name === '') return 'a name is not empty'
  if (LONE_SURROGATE.test(name)) return 'a name is well-formed Unicode (no lone surrogates)'
  if (name.includes('\0')) return 'a name contains no NUL character'
  if (encoder.encode(name).byteLength > MAX_NAME_BYTES) return `a name is at most ${MAX_NAME_BYTES} bytes of UTF-8`
  if (name.startsWith('/')) return 'a name is a relative path, not an absolute one'
  for (const segment of name.split('/')) {
    if (segment === '') return 'a name has no empty segment (no "//" and no trailing "/")'
    if (segment === '.' || segment === '..') return 'a name has no "." or ".." segment'
    if (encoder.encode(segment).byteLength > MAX_SEGMENT_BYTES) return `each segment of a name is at most ${MAX_SEGMENT_BYTES} bytes of UTF-8`
  }
  return undefined
}

export function isRelativePath (name: unknown): name is string {
  return relativePathProblem(name) === undefined
}

/** Returns `name` when it is a valid relative path; InvalidNameError otherwise. */
export function parseRelativePath (name: unknown): string {
  const problem = relativePathProblem(name)
  if (problem !== undefined) throw new InvalidNameError(`${problem}: ${JSON.stringify(String(name).slice(0, 80))}`)
  return name as string
}

/** The first segment of a valid name: `photos` for `photos/2024/a.jpg`. */
export function firstSegment (name: string): string {
  const slash = name.indexOf('/')
  return slash === -1 ? name : name.slice(0, slash)
}

/** The last segment of a valid relative path: the file's own name. */
export function lastSegment (name: string): string {
  return name.slice(name.lastIndexOf('/') + 1)
}

/**
 * Why `target` cannot be a symbolic link's target, or undefined when it can: a link
 * target is stored and restored verbatim (absolute, with `..`, dangling: all allowed,
 * since restoring a link never follows it), so only what no file system can hold is refused.
 */
export function linkTargetProblem (target: unknown): string | undefined {
  if (typeof target !== 'string') return 'a link target is a string'
  if (target === '') return 'a link target is not empty'
  if (LONE_SURROGATE.test(target)) return 'a link target is well-formed Unicode (no lone surrogates)'
  if (target.includes('\0')) return 'a link target contains no NUL character'
  if (encoder.encode(target).byteLength > MAX_NAME_BYTES) return `a link target is at most ${MAX_NAME_BYTES} bytes of UTF-8`
  return undefined
}

/**
 * The first entry (by index) that lies below a file or a link of the same tree, with
 * that file's or link's name; undefined when there is none. Such a path has no
 * restoring: which one wins would depend on timing, and below a link it would be
 * written through the link.
 */
export function belowALeaf (entries: ReadonlyArray<{ name: string, kind: string }>): { index: number, leaf: string } | undefined {
  const leaves = new Set(entries.filter((e) => e.kind !== 'directory').map((e) => e.name))
  for (const [index, e] of entries.entries()) {
    for (let slash = e.name.indexOf('/'); slash !== -1; slash = e.name.indexOf('/', slash + 1)) {
      if (leaves.has(e.name.slice(0, slash))) return { index, leaf: e.name.slice(0, slash) }
    }
  }
  return undefined
}
