import { setFlagsFromString } from 'node:v8'

/** V8's flag for its newer accounting of external memory (docs/performance.md). */
export const EXTERNAL_MEMORY_FLAG = '--external-memory-accounted-in-global-limit'

/**
 * Whether this V8 is known to take EXTERNAL_MEMORY_FLAG and not to do so already: 13.6
 * (Node 24) has it, off by default. A later V8 is said to make it the default and drop
 * the flag (14.8, unconfirmed here): there the flag would be an "unrecognized flag"
 * line on every start, so it is not set; the test that counts full collections is what
 * tells, on a Node upgrade, whether that V8 needs it.
 */
export function wantsExternalAccounting (v8Version = process.versions.v8): boolean {
  const [major = NaN, minor = NaN] = v8Version.split('.').map(Number)
  if (!Number.isInteger(major) || !Number.isInteger(minor)) return false
  const at = major * 1000 + minor
  return at >= 13_006 && at < 14_008
}

/**
 * Makes V8 weigh the daemon's buffers (chunks, frames, ciphertext: ArrayBuffers outside
 * the JS heap) against a limit of their own instead of adding every byte of them
 * allocated since the last full collection to the old generation's.
 *
 * By default V8 13.6 counts external bytes as if they were old objects, so a node that
 * moves chunks, whose buffers almost all die young, started a full mark-compact of its
 * whole heap every 150-300 ms while storing a first put and every few stores after it,
 * each 30-80 ms of its main thread (pause and incremental steps): 17-22 full
 * collections per storage node over one `bench/incremental-tree.bench.ts` run, 5-6 with
 * the flag set here at the start of `quloud start` (3 when given on Node's command line,
 * which NODE_OPTIONS refuses and an older Node would exit on). V8 reads the flag on each
 * limit check, so setting it after start takes effect; only what the CLI allocated
 * before it is weighed the old way.
 */
export function accountExternalMemoryApart (v8Version = process.versions.v8): boolean {
  if (!wantsExternalAccounting(v8Version)) return false
  setFlagsFromString(EXTERNAL_MEMORY_FLAG)
  return true
}
