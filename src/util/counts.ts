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
