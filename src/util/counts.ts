/**
 * Adds `delta` to the count of `key`; a count that reaches zero (or below) is removed,
 * so maps of counts per peer, host or subnet hold only what is live. Returns the count.
 */
export function addCount<K> (counts: Map<K, number>, key: K, delta: number): number {
  const next = (counts.get(key) ?? 0) + delta
  if (next <= 0) counts.delete(key)
  else counts.set(key, next)
  return Math.max(0, next)
}

/**
 * A count read from a peer book or a stored record, whole: 0 for one absent, negative or
 * not finite, so a corrupt counter weighs as no evidence instead of a NaN that spreads.
 */
export function finiteCount (n: number | undefined): number {
  return n !== undefined && Number.isFinite(n) && n > 0 ? Math.floor(n) : 0
}
