import { InvalidInputError } from '../../errors.ts'
import type { StoredVersion } from './catalogue-paths.ts'

/** Which versions of a name `forget` keeps; at least one rule. */
export interface ForgetPolicy {
  /** The newest N versions. */
  keepLast?: number
  /** Versions stored within this many ms before now. */
  keepWithinMs?: number
}

/**
 * The versions (oldest first, as versionsOf lists them) a policy forgets: those no rule
 * keeps. The newest version is always kept (forgetting a name entirely is `rm`); a
 * version with no recorded time (stored before versions were) counts as old.
 */
export function versionsToForget<V extends Pick<StoredVersion, 'version' | 'storedAt'>> (versions: V[], policy: ForgetPolicy, now: number): V[] {
  const { keepLast, keepWithinMs } = policy
  if (keepLast === undefined && keepWithinMs === undefined) throw new InvalidInputError('forget needs --keep-last N or --keep-within DURATION')
  if (keepLast !== undefined && (!Number.isSafeInteger(keepLast) || keepLast < 1)) throw new InvalidInputError('--keep-last is at least 1: forget never removes the newest version (use rm)')
  if (keepWithinMs !== undefined && (!Number.isSafeInteger(keepWithinMs) || keepWithinMs < 0)) throw new InvalidInputError('--keep-within is a duration')
  const last = Math.max(1, keepLast ?? 1)
  return versions.filter((v, i) => {
    const recent = i >= versions.length - last && (keepLast !== undefined || i === versions.length - 1)
    const within = keepWithinMs !== undefined && v.storedAt !== undefined && v.storedAt >= now - keepWithinMs
    return !recent && !within
  })
}
