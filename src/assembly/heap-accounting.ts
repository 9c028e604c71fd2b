import { setFlagsFromString } from 'node:v8'

/**
 * Makes V8 weigh the daemon's buffers (chunks, frames, ciphertext: ArrayBuffers outside
 * the JS heap) against a limit of their own instead of adding every byte of them
 * allocated since the last full collection to the old generation's.
 *
 * By default V8 counts external bytes as if they were old objects, so a node that moves
 * chunks, whose buffers almost all die young, started a full mark-compact of its whole
 * heap every 150-300 ms while storing a first put and every few stores after it, each
 * 30-80 ms of its main thread (pause and incremental steps), while a scavenge had
 * already freed the buffers: 17-22 full collections per storage node over one
 * `bench/incremental-tree.bench.ts` run, 3 with this flag (measured with --trace-gc).
 * It is V8's newer accounting (off by default in Node 24's V8 13.6); it is set once at
 * start, before the daemon allocates, and only where that V8 is known to have it: an
 * older one would print "unrecognized flag" and keep the old accounting.
 */
export function accountExternalMemoryApart (v8Version = process.versions.v8): boolean {
  const [major = NaN, minor = NaN] = v8Version.split('.').map(Number)
  const known = Number.isInteger(major) && Number.isInteger(minor) && (major > 13 || (major === 13 && minor >= 6))
  if (!known) return false
  setFlagsFromString('--external-memory-accounted-in-global-limit')
  return true
}
