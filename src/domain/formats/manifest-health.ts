import type { Manifest } from './manifest.ts'
import { shardIndex, shardsPerStripe } from './stripe-layout.ts'

/**
 * How much of a file is still there, from its manifest and what the owner knows of its
 * holders. A piece (a shard, or one copy of a chunk) counts as healthy when one of its
 * holders is `usable` for it: live, and not caught by an audit without it.
 *
 * An erasure-coded file (version 3 and later) is as healthy as its worst stripe: a
 * stripe with `h` healthy shards of `k + m` survives `h - k` more losses. A replicated
 * file (version 2) is as healthy as its chunk with the fewest healthy copies; it needs one.
 */
export interface FileHealth {
  /** Healthy pieces of the worst stripe (or chunk). */
  healthy: number
  /** Pieces one stripe (or chunk) needs to be read: k, or 1 copy. */
  needed: number
  /** Pieces one stripe (or chunk) has when whole: k + m, or the copies the put made. */
  total: number
}

/** Whether `peer`'s copy of the piece at flat index `index` can be counted on. */
export type Usable = (peer: string, index: number) => boolean

export function fileHealth (manifest: Manifest, usable: Usable): FileHealth {
  if (manifest.erasure === undefined) {
    const total = manifest.holders.reduce((most, h) => Math.max(most, h.length), 0)
    // not Math.min(...): a file of 200 GiB has more chunks than a call's arguments can hold
    const healthy = manifest.chunks.length === 0 ? total : manifest.holders.reduce((fewest, h, i) => Math.min(fewest, h.filter((p) => usable(p, i)).length), Infinity)
    return { healthy, needed: 1, total }
  }
  const scheme = manifest.erasure
  const n = shardsPerStripe(scheme)
  const stripes = manifest.chunks.length / n
  let healthy = n
  for (let s = 0; s < stripes; s++) healthy = Math.min(healthy, healthySlots(manifest, s, usable).length)
  return { healthy, needed: scheme.data, total: n }
}

/** The shard slots (0..k+m-1) of `stripe` with a usable holder. */
export function healthySlots (manifest: Manifest, stripe: number, usable: Usable): number[] {
  const n = shardsPerStripe(manifest.erasure!)
  const slots: number[] = []
  for (let j = 0; j < n; j++) {
    const at = shardIndex(manifest.erasure!, stripe, j)
    if ((manifest.holders[at] ?? []).some((p) => usable(p, at))) slots.push(j)
  }
  return slots
}

/**
 * The slots of an erasure-coded file to rebuild: every slot of a stripe with no usable
 * holder in that stripe. `lost` says which pieces are gone for good (their holder away
 * longer than repairAfter, or caught by an audit); a piece merely unreachable is not
 * rebuilt unless its stripe is down to `atOrBelow` healthy shards, when waiting for it
 * to return would risk the file.
 */
export function slotsToRepair (manifest: Manifest, usable: Usable, lost: Usable, atOrBelow: number): Set<number> {
  const scheme = manifest.erasure!
  const n = shardsPerStripe(scheme)
  const slots = new Set<number>()
  for (let s = 0; s < manifest.chunks.length / n; s++) {
    const healthy = new Set(healthySlots(manifest, s, usable))
    const urgent = healthy.size <= atOrBelow
    for (let j = 0; j < n; j++) {
      if (healthy.has(j)) continue
      const at = shardIndex(scheme, s, j)
      const holders = manifest.holders[at] ?? []
      if (urgent || holders.length === 0 || holders.every((p) => lost(p, at))) slots.add(j)
    }
  }
  return slots
}
